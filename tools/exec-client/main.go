// exec-client runs one command through a kubelet-style exec endpoint with client-go's own
// remotecommand executors, the code kube-apiserver and kubectl use: SPDY/3.1 (moby/spdystream) or
// WebSocket v5. It is the interop check of src/kubelet (test/e2e/kubeletExecInterop.test.ts).
//
//	exec-client -url https://127.0.0.1:10250/exec/ns/pod/c?command=echo&command=hi&output=1&error=1 \
//	  -cert client.crt -key client.key [-protocol spdy|websocket] [-stdin] [-tty]
//
// stdout and stderr of the command go to ours; the exit code is the command's (client-go's
// CodeExitError), 1 for any other failure with the error on stderr, as kubectl does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

func main() {
	rawURL := flag.String("url", "", "exec URL with its query")
	cert := flag.String("cert", "", "client certificate (PEM)")
	key := flag.String("key", "", "client key (PEM)")
	protocol := flag.String("protocol", "spdy", "spdy or websocket")
	stdin := flag.Bool("stdin", false, "send our stdin")
	tty := flag.Bool("tty", false, "request a terminal")
	flag.Parse()

	u, err := url.Parse(*rawURL)
	if err != nil {
		fail(err)
	}
	cfg := &rest.Config{
		Host:            u.Scheme + "://" + u.Host,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true, CertFile: *cert, KeyFile: *key},
	}
	var executor remotecommand.Executor
	switch *protocol {
	case "spdy":
		executor, err = remotecommand.NewSPDYExecutor(cfg, "POST", u)
	case "websocket":
		executor, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	default:
		err = fmt.Errorf("unknown protocol %q", *protocol)
	}
	if err != nil {
		fail(err)
	}
	opts := remotecommand.StreamOptions{Stdout: os.Stdout, Stderr: os.Stderr, Tty: *tty}
	if *tty {
		opts.Stderr = nil
	}
	if *stdin {
		opts.Stdin = os.Stdin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = executor.StreamWithContext(ctx, opts)
	var exitErr exec.CodeExitError
	if errors.As(err, &exitErr) {
		os.Exit(exitErr.Code)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	_, _ = io.WriteString(os.Stderr, "error: "+err.Error()+"\n")
	os.Exit(1)
}
