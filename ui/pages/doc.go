// Package pages owns the server-rendered analyst pages: templ components
// (the layout with its navigation and theme switch, login, dashboard with
// its SVG charts, event search and detail, alerts, incidents and incident
// detail, rules and rule detail, the ATT&CK matrix, tokens, and the error
// page; docs/ui.md lists them), the plain view models they render, and the
// pure functions that build view models from stored documents and counts.
//
// Components only render what their view model holds: no I/O, no business
// logic, no inline scripts or style attributes (the server sets a strict
// Content-Security-Policy), and every page works without JavaScript.
// Handlers in package ui fill the view models and render the components.
//
// It may import ui/static (for asset URLs) and templ, never appliance,
// storage or cluster.
package pages
