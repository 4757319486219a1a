// Package push sends the "approve a notification on my authenticator app"
// verification through one of two services:
//
//   - Ntfy publishes to a self-hosted ntfy server. The notification carries
//     one button per number flow offers; the button calls sspr back (see
//     Ntfy.CallbackHandler) and the number tapped is the answer. Number
//     matching is complete: the person taps the number on the screen.
//   - Duo starts a Duo Push through the Duo Auth API v2 and polls for the
//     result. Duo Mobile shows Approve and Deny only, so the number on the
//     screen is shown in the push details and Approve answers with it.
//
// Both implement flow.Sender for flow.PushApp and report the answer with
// the approve function (*flow.Engine).Approve, which any instance may take:
// the Store carries the pending approval.
//
// No error string or log line of this package carries a token, a key, a
// MAC or a topic name.
package push
