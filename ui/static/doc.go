// Package static owns the web UI's assets (the stylesheet today; icons or
// scripts later), embedded into the binary so the appliance needs no network
// at run time.
//
// Every asset is served under a content-hashed name ("app.3f2a9c1b.css") with
// a one-year immutable cache lifetime; pages link to it through Path, so a new
// build changes the URL instead of relying on revalidation.
//
// It imports only the standard library and must not import the rest of the
// module.
package static
