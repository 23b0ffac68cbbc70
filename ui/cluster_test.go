package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClusterAPIAndPage(t *testing.T) {
	e := newEnv(t, false)
	tok, _, _ := e.login()
	r := e.do("GET", "/api/v1/cluster", "", bearer(tok)...)
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/v1/cluster: %d %s", r.status, r.body)
	}
	var st struct {
		Leader string `json:"leader"`
		Nodes  []struct {
			ID      string `json:"id"`
			Address string `json:"address"`
			State   string `json:"state"`
			Voter   bool   `json:"voter"`
			Healthy bool   `json:"healthy"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 1 || st.Leader == "" || st.Nodes[0].ID != st.Leader || st.Nodes[0].State != "leader" || !st.Nodes[0].Voter || !st.Nodes[0].Healthy || st.Nodes[0].Address == "" {
		t.Fatalf("one-node cluster status: %+v", st)
	}
	if r := e.do("GET", "/api/v1/cluster", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("cluster status without credentials: %d", r.status)
	}

	b := e.browser()
	e.signIn(b, "/cluster", adminPassword)
	page := e.get(b, "/cluster")
	if page.status != http.StatusOK || !strings.Contains(page.body, st.Leader) || !strings.Contains(page.body, "(this node)") || !strings.Contains(page.body, "healthy") {
		t.Fatalf("cluster page: %d\n%s", page.status, page.body)
	}

	admin := httptest.NewServer(e.ui.AdminHandler())
	t.Cleanup(admin.Close)
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		res, err := http.Post(admin.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m) //nolint:errcheck // checked through m
		return res.StatusCode, m
	}
	if code, m := post("/admin/cluster/token", `{"ttl":"10m"}`); code != http.StatusOK || !strings.HasPrefix(m["token"].(string), "xdrj1_") || m["join"] == "" {
		t.Fatalf("cluster token: %d %v", code, m)
	}
	if code, m := post("/admin/cluster/token", `{"ttl":"forever"}`); code != http.StatusBadRequest || !strings.Contains(m["error"].(string), "ttl") {
		t.Fatalf("cluster token with a bad ttl: %d %v", code, m)
	}
	if code, m := post("/admin/cluster/remove", `{"id":"node-nosuch"}`); code != http.StatusNotFound {
		t.Fatalf("remove an unknown node: %d %v", code, m)
	}
	if code, m := post("/admin/state/digest", `{}`); code != http.StatusOK || len(m["digest"].(string)) != 64 {
		t.Fatalf("state digest: %d %v", code, m)
	}
}
