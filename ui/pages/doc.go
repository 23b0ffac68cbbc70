// Package pages owns the server-rendered analyst pages: templ components
// (the layout, login, event search, event detail and error pages), the plain
// view models they render, and the pure functions that build view models
// from stored documents.
//
// Components only render what their view model holds: no I/O, no business
// logic, no inline scripts or style attributes (the server sets a strict
// Content-Security-Policy), and every page works without JavaScript.
// Handlers in package ui fill the view models and render the components.
//
// It may import ui/static (for asset URLs) and templ, never appliance,
// storage or cluster.
package pages
