// Package ui is the node's face to its clients: the JSON API of
// INTERFACE.md, the server-rendered analyst pages (templ components in
// ui/pages, embedded assets in ui/static), the health and metrics
// endpoints, and the local admin API that the CLI reaches over a Unix
// socket. Its sub-package syslogd receives syslog.
//
// Handlers only translate HTTP to calls on the appliance services and back;
// they hold no business logic. It must not import storage or cluster: what
// it needs from them it declares as small interfaces.
package ui
