package ui

import (
	"net/http"
	"slices"
	"time"

	"github.com/minixdr/xdr/ui/pages"
)

// themeCookie remembers the colour scheme chosen with the theme form.
const themeCookie = "xdr_theme"

// themeOf is the chosen theme, "" (follow the system) when none or unknown.
func themeOf(r *http.Request) string {
	c, err := r.Cookie(themeCookie)
	if err != nil || !slices.Contains(pages.Themes, c.Value) {
		return ""
	}
	return c.Value
}

// themeSubmit stores the theme and returns to the page the form was on.
func (s *Server) themeSubmit(w http.ResponseWriter, r *http.Request) {
	theme := r.PostFormValue("theme")
	if !slices.Contains(pages.Themes, theme) {
		s.renderError(w, r, chromeOf(r, ""), http.StatusBadRequest, "Unknown theme: choose Auto, Light or Dark.")
		return
	}
	c := &http.Cookie{Name: themeCookie, Value: theme, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: s.d.TLS, SameSite: http.SameSiteStrictMode}
	if theme == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}
