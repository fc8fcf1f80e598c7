//go:build !linux

package main

import "os/exec"

// dieWithParent has no portable equivalent off Linux; children there end on their own.
func dieWithParent(cmd *exec.Cmd) {}
