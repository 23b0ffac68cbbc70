// Command packaging builds the release files of Mini-XDR from binaries that
// scripts/package.sh has already built: .deb and .rpm packages for each
// architecture (with nfpm as a library), a CycloneDX SBOM of the Go modules
// compiled into the binary, and SHA256SUMS. Everything it writes depends
// only on its inputs and SOURCE_DATE_EPOCH, so two builds of one commit are
// byte-identical. It is its own Go module so that the packaging tools'
// dependencies stay out of the product's module graph and SBOM.
//
//	go -C packaging run . build -repo .. -build ../dist/build -dist ../dist -version V -commit C -epoch S
//	go -C packaging run . check-sbom -sbom FILE -binary XDR
package main
