// Command image builds plumb's OCI image without a Docker engine, with
// go-containerregistry, and writes it as a tarball that docker load, podman
// load and crane push read.
//
// The image is FROM scratch plus one layer: the static plumb binary at
// /plumb (its entrypoint), CA certificates for Git and remote clusters over
// HTTPS, an /etc/passwd naming the non-root user 65532 it runs as, and
// writable /tmp and /var/lib/plumb for a container run without a read-only
// root filesystem (the Helm chart mounts volumes there instead). Its files'
// times and the image's creation time come from SOURCE_DATE_EPOCH, so the
// same binary gives the same digest.
//
// Run it with `make image`; it is a build tool and not part of plumb's binary.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	opts := DefaultOptions()
	flag.StringVar(&opts.Binary, "binary", opts.Binary, "static Linux plumb binary to put in the image")
	flag.StringVar(&opts.CACerts, "ca-certs", opts.CACerts, "CA certificate bundle to copy to /etc/ssl/certs/ca-certificates.crt (left out with a warning when missing)")
	flag.StringVar(&opts.Arch, "arch", opts.Arch, "image architecture; the binary must be built for it")
	flag.StringVar(&opts.Version, "version", opts.Version, "org.opencontainers.image.version label")
	flag.StringVar(&opts.Revision, "revision", opts.Revision, "org.opencontainers.image.revision label (the commit)")
	tag := flag.String("tag", "plumb:devel", "image reference recorded in the tarball, for docker load")
	out := flag.String("out", "bin/plumb-image.tar", "tarball to write")
	flag.Parse()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "image: SOURCE_DATE_EPOCH %q: want seconds since 1970\n", s)
			os.Exit(2)
		}
		opts.Created = time.Unix(sec, 0).UTC()
	}
	opts.Warn = func(msg string) { fmt.Fprintln(os.Stderr, "image: warning:", msg) }

	img, err := Build(opts)
	if err == nil {
		err = Write(*out, *tag, img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(2)
	}
	digest, _ := img.Digest() // computed by Write already
	size, _ := imageSize(img)
	fmt.Printf("%s: %s %s (%s, %.1f MiB compressed)\n", *out, *tag, digest, "linux/"+opts.Arch, float64(size)/(1<<20))
}
