package intel

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

func firstLine(data []byte) string {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		l := strings.TrimSpace(string(line))
		if l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// csvColumns are the header names a CSV may use; "value" (or "indicator")
// is required, the others optional.
var csvColumns = map[string]string{
	"value": "value", "indicator": "value", "ioc": "value",
	"type": "type", "description": "description", "comment": "description",
	"source": "source", "severity": "severity", "valid_from": "valid_from", "valid_until": "valid_until",
}

// csvHeader maps column index to field when line is a header with a value
// column.
func csvHeader(line string) (map[int]string, bool) {
	cols := map[int]string{}
	hasValue := false
	for i, name := range strings.Split(line, ",") {
		f, ok := csvColumns[strings.ToLower(strings.TrimSpace(name))]
		if ok {
			cols[i] = f
			hasValue = hasValue || f == "value"
		}
	}
	return cols, hasValue
}

// parseCSV reads a CSV with a header row naming its columns (see
// csvColumns). A missing type is guessed from the value.
func parseCSV(data []byte) (*Report, []string, error) {
	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comment = '#'
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("no header row: %w", err)
	}
	cols, ok := csvHeader(strings.Join(header, ","))
	if !ok {
		return nil, nil, fmt.Errorf("header %q has no value (or indicator) column", strings.Join(header, ","))
	}
	r := newReport(FormatCSV)
	var origins []string
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				r.Read++
				r.malformed("line "+strconv.Itoa(perr.Line), "%v", perr.Err)
				continue
			}
			return nil, nil, err
		}
		line, _ := rd.FieldPos(0)
		where := "line " + strconv.Itoa(line)
		in, problem := Indicator{}, ""
		for i, v := range rec {
			switch cols[i] {
			case "value":
				in.Value = strings.TrimSpace(v)
			case "type":
				in.Type = Type(strings.ToLower(strings.TrimSpace(v)))
			case "description":
				in.Description = v
			case "source":
				in.Source = v
			case "severity":
				in.Severity = strings.ToLower(strings.TrimSpace(v))
			case "valid_from", "valid_until":
				if v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
				if err != nil {
					problem = fmt.Sprintf("%s %q is not an RFC 3339 time", cols[i], v)
					continue
				}
				if cols[i] == "valid_from" {
					in.ValidFrom = t
				} else {
					in.ValidUntil = t
				}
			}
		}
		if in.Value == "" {
			continue
		}
		r.Read++
		switch {
		case problem != "":
			r.malformed(where, "%s", problem)
			continue
		case in.Severity != "" && !severities[in.Severity]:
			r.malformed(where, "severity %q is not one of informational, low, medium, high, critical", in.Severity)
			continue
		case in.Type == "":
			in.Type = guessType(in.Value)
		}
		if r.add(where, in) {
			origins = append(origins, where)
		}
	}
	return r, origins, nil
}

// parseList reads one indicator per line, its type guessed from the value.
// Blank lines and lines starting with # are skipped; anything after the
// value (a tab, comma or space, as in "1.2.3.4<TAB>7" of IP reputation
// lists) becomes the indicator's description.
func parseList(data []byte) (*Report, []string) {
	r := newReport(FormatList)
	var origins []string
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		l := strings.TrimSpace(string(line))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r.Read++
		value, rest := l, ""
		if i := strings.IndexAny(l, "\t, "); i >= 0 {
			value, rest = l[:i], strings.TrimSpace(l[i+1:])
		}
		where := "line " + strconv.Itoa(n)
		in := Indicator{Type: guessType(value), Value: value, Description: rest}
		if r.add(where, in) {
			origins = append(origins, where)
		}
	}
	return r, origins
}
