// Package query is the search language of events and alerts: a parser into a
// small tree (Expr) that the storage planner can inspect, and an evaluator
// (Match) for checking one document against it.
//
// # Syntax
//
//	field:value          equality (case-insensitive)
//	field:"a value"      quoted value; \" and \\ are escapes, any other
//	                     backslash is kept literally (so "C:\Windows" works,
//	                     but a quoted \\srv needs "\\\\srv"; unquoted, every
//	                     backslash is literal)
//	field:prefix*        prefix (case-insensitive); only a trailing, unquoted
//	                     '*' is a wildcard: field:"a*" and field:a*b are literal
//	field:*              the field exists (has at least one non-null value)
//	field>N  field>=N  field<N  field<=N
//	word  "a phrase"     case-insensitive substring of the event text (no
//	                     wildcards: '*' in a word is literal)
//	a AND b   a OR b   NOT a   -a   ( ... )
//
// Juxtaposition means AND (`user.name:root failed`). Precedence is NOT, then
// AND, then OR. The keywords are case-sensitive: `and` is a bare word, and a
// keyword is searched as a word by quoting it ("AND"). A '-' starting a term
// negates it; a '-' inside a word or value is literal.
//
// A field name starts with a letter, '_' or '@' and continues with letters,
// digits, '_', '@', '.' and '-'. It is a normalised dotted name (source.ip,
// @timestamp) or original.<path> into the event as received. A bare word that
// would read as a field (`http://x`, `a:b`) must be quoted to be a word;
// unquoted values and words end at a space or a parenthesis, and a '"' inside
// them is an error rather than a guess.
//
// An empty or blank query parses to nil, which matches everything. Queries
// longer than 4096 bytes, or nesting parentheses and NOTs deeper than 32, are
// rejected with a *SyntaxError, as is every malformed query; Parse never
// panics.
//
// Expr.String renders a canonical form (explicit AND, NOT instead of '-',
// minimal parentheses, quotes and escapes only where needed) that parses back
// to an equal tree, so it can serve as a cache key or be shown back to the
// user. When that form would exceed the length limit, a compact one is used
// instead (juxtaposition, '-', no space beside a parenthesis), which is never
// longer than the query it came from.
//
// # Matching
//
// A field may hold several values (arrays are flattened); a term matches when
// any value does, and a missing or null field matches nothing, so
// `NOT field:x` is true for documents without the field.
//
// Equality compares strings case-insensitively. A numeric value equals a
// numeric query value by number (22 matches 22.0) or by its canonical text;
// booleans compare as "true"/"false". A string value equal in time to an
// RFC 3339 query value also matches, so stored sub-second precision does not
// defeat `@timestamp:2024-01-01T00:00:00Z`.
//
// Comparisons are numeric when both sides are numbers (numeric strings
// count); otherwise by time when both are RFC 3339 times (or YYYY-MM-DD dates,
// read as midnight UTC); otherwise by byte-wise, case-sensitive string order.
// The last rule means `user.name>5` is a string comparison against "Root",
// which is well defined but rarely what anyone wants.
//
// Bare words match the lowered event text. For DocFields that text is the raw
// JSON document, so a word also matches key names, and a word containing
// characters JSON escapes (quote, backslash, <, >, &, control characters) is
// also tried in its escaped form.
//
// A field is looked up in the document by walking the dotted path: at each
// level the longest remaining dotted key is tried first, then shorter ones
// (all that exist are used), so both the flat top-level keys of a stored
// event ("source.ip") and keys with dots inside the original ("id.orig_h")
// resolve; arrays met on the way are walked element by element.
package query
