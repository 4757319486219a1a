package main

import (
	"net"
	"strconv"
)

func splitHostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, &net.AddrError{Err: "bad port", Addr: s}
	}
	return h, n, nil
}
