package clients

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Search limits.
const (
	DefaultPageSize = 25
	maxPageSize     = 100
	maxTokens       = 6
	maxQueryLen     = 200
	// skeletonMin is the shortest transliteration skeleton a search
	// compares: shorter ones ("l" of Ali, Ola and Leo) match too many.
	skeletonMin = 3
	// rerankWindow is how many of the best matches are ordered by trigram
	// similarity as well.
	rerankWindow = 200
)

// Query is a search of the register; zero values mean any.
type Query struct {
	Text           string // name parts in any order, or a phone number
	Status         string // StatusActive, StatusEnded or ""
	ExpertID       int64  // the responsible expert
	ServicePointID int64
	Offset, Limit  int
}

// Results is one page of clients, best match first (without Text: in name
// order), with what the search form offers.
type Results struct {
	Clients []Client // basic information only: no identity code, note or contact details but the phone
	More    bool     // another page follows
	Experts []Expert // responsible experts at the actor's service points
	Points  []org.ServicePoint
}

// phoneQuery is text that can only be a phone number: digits and what
// people type between them, and at least four digits.
func phoneQuery(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.', r == '/':
		default:
			return false
		}
	}
	return digits >= 4
}

// nameTokens splits a name query into its parts: letters and digits, in
// any script, with anything else between them.
func nameTokens(s string) []string {
	t := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) })
	if len(t) > maxTokens {
		t = t[:maxTokens]
	}
	return t
}

// Search finds clients of the service points where the actor works. A name
// query matches every part, in any order, ignoring case and accents, as a
// substring (the start of a name too) or by transliteration skeleton
// (Muhammad finds Mohammed; a vowel mistyped, Virtanan, finds Virtanen).
// Whole words come first, then spelling variants, then word starts, and
// among equals the closest by trigram similarity. A query of digits finds
// phone numbers however they were written. One access-log
// row records the search (not its words, which may name someone).
func (s *Service) Search(ctx context.Context, actor auth.Principal, q Query) (Results, error) {
	if q.Limit <= 0 || q.Limit > maxPageSize {
		q.Limit = DefaultPageSize
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	q.Text = strings.TrimSpace(q.Text)
	if r := []rune(q.Text); len(r) > maxQueryLen {
		q.Text = string(r[:maxQueryLen])
	}
	var out Results
	err := s.atWork(ctx, actor, func(tx sqldb.Tx, points []org.ServicePoint) error {
		out.Points = points
		var err error
		// Who may be responsible at the service points where the
		// actor works, for the expert filter.
		ids, all := actor.ServicePointScope(auth.RoleExpert)
		if out.Experts, err = listExperts(ctx, tx, all, ids...); err != nil {
			return err
		}
		sql, args, err := searchSQL(ctx, tx, actor, q)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		if out.Clients, err = sqldb.CollectRows(rows, scanSummary); err != nil {
			return err
		}
		if len(out.Clients) > q.Limit {
			out.Clients, out.More = out.Clients[:q.Limit], true
		}
		return logAccess(ctx, tx, actor, 0, audit.ActionRead, PurposeSearch)
	})
	return out, err
}

// summaryCols reads a client aliased c, joined with its responsible
// expert aliased r, for a list.
const summaryCols = `c.id, c.service_point_id, c.first_names, c.last_name, c.native_name, c.birth_date, c.phone, c.status,
	coalesce(c.responsible_staff_id, 0), coalesce(r.name, '')`

func scanSummary(row sqldb.Row) (Client, error) {
	var c Client
	var birth *time.Time
	err := row.Scan(&c.ID, &c.ServicePointID, &c.FirstNames, &c.LastName, &c.NativeName, &birth, &c.Phone,
		&c.Status, &c.ResponsibleStaffID, &c.ResponsibleName)
	if birth != nil {
		c.BirthDate = *birth
	}
	return c, err
}

// searchSQL builds the search: the filters, the name parts' conditions,
// and the ranking. The folding and skeletons come from the database's own
// functions, the ones its search columns are built with, so the query and
// the stored keys always agree.
//
// A name query reads a bounded number of rows whatever the register's size.
// A common name or the start of one matches tens of thousands of clients in
// a register of a million, and fetching and scoring every one of them cost
// seconds. So the candidates come from up to three passes, each answered by
// the indexes and stopped after window rows: every part a whole word; every
// part a whole word or a spelling variant; every part anywhere (a word
// start, inside a word, or a variant). Only those candidates are scored and
// ordered, so a whole-word match is never crowded out by variants, nor a
// variant by word starts.
func searchSQL(ctx context.Context, tx sqldb.Tx, actor auth.Principal, q Query) (string, []any, error) {
	points, all := actor.ServicePointScope(auth.RoleExpert)
	if points == nil {
		points = []int64{}
	}
	args := []any{all, points, q.Status, q.ExpertID, q.ServicePointID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{`c.erased_at IS NULL`, `($1 OR c.service_point_id = ANY($2))`, `($3 = '' OR c.status = $3)`,
		`($4 = 0 OR c.responsible_staff_id = $4)`, `($5 = 0 OR c.service_point_id = $5)`}
	order := `c.last_name, c.first_names, c.id`

	switch {
	case q.Text == "":
	case phoneQuery(q.Text):
		var key string
		if err := tx.QueryRow(ctx, `SELECT koto_phone_key($1)`, q.Text).Scan(&key); err != nil {
			return "", nil, err
		}
		// The phone index leaves out clients with no phone; saying so lets
		// the planner use it (a LIKE alone does not prove it).
		where = append(where, `c.phone_key <> ''`, `c.phone_key LIKE `+arg("%"+escapeLike(key)+"%"))
	default:
		tokens := nameTokens(q.Text)
		if len(tokens) == 0 {
			where = append(where, `false`)
			break
		}
		var folded, skeletons []string
		var whole string
		// The plan must be made for these patterns: a generic plan of a
		// prepared statement cannot tell a rare name from a common one,
		// and may scan the whole register hoping to stop early. The
		// setting is local to the transaction.
		if err := tx.QueryRow(ctx, `SELECT array_agg(koto_fold(t) ORDER BY n), array_agg(koto_name_skeleton(t) ORDER BY n),
				koto_fold(array_to_string($1::text[], ' ')), set_config('plan_cache_mode', 'force_custom_plan', true)
			FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)`, tokens).Scan(&folded, &skeletons, &whole, new(string)); err != nil {
			return "", nil, err
		}
		// Per part: as a whole word, as a word of the same transliteration
		// skeleton, as the start of a word, anywhere. Each is a condition
		// the trigram or skeleton index answers: the patterns' spaces make
		// pg_trgm look for a word's edge, which also lets a part of one or
		// two letters (Li, Wu) use the index as the start of a word.
		var word, variant, anywhere, rank []string
		for i, f := range folded {
			if f == "" {
				continue
			}
			e := escapeLike(f)
			w := `c.search_name LIKE ANY(` + arg([]string{e, e + " %", "% " + e + " %", "% " + e}) + `::text[])`
			st := `c.search_name LIKE ANY(` + arg([]string{e + "%", "% " + e + "%"}) + `::text[])`
			// A part of one or two letters matches only at a word's start:
			// inside words it is noise, and no trigram index can find it.
			in := st
			if len([]rune(f)) >= 3 {
				in = `c.search_name LIKE ` + arg("%"+e+"%")
			}
			v, score := w, `CASE WHEN `+w+` THEN 4 `
			if k := skeletons[i]; len(k) >= skeletonMin {
				sk := `c.search_skeletons @> ` + arg([]string{k}) + `::text[]`
				v = `(` + w + ` OR ` + sk + `)`
				in = `(` + in + ` OR ` + sk + `)`
				score += `WHEN ` + sk + ` THEN 3 `
			}
			score += `WHEN ` + st + ` THEN 2 ELSE 1 END`
			word, variant, anywhere = append(word, w), append(variant, v), append(anywhere, in)
			rank = append(rank, score)
		}
		if len(rank) == 0 {
			where = append(where, `false`)
			break
		}
		window := arg(max(q.Offset+q.Limit+1, rerankWindow))
		filters := strings.Join(where, ` AND `)
		var passes []string
		for _, p := range [][]string{word, variant, anywhere} {
			pass := `(SELECT c.id, ` + strings.Join(rank, ` + `) + ` AS score, c.search_name, c.last_name, c.first_names
				FROM clients c WHERE ` + filters + ` AND ` + strings.Join(p, ` AND `) + ` LIMIT ` + window + `)`
			if !slices.Contains(passes, pass) {
				passes = append(passes, pass)
			}
		}
		// The passes overlap; UNION keeps each client once (its row is the
		// same whichever pass found it). Trigram similarity to the whole
		// query orders equal scores: it costs far more per row than the
		// score, and is computed for the candidates only.
		sql := `SELECT ` + summaryCols + ` FROM (SELECT f.id, f.score, similarity(f.search_name, ` + arg(whole) + `) AS sim,
				f.last_name, f.first_names FROM (` + strings.Join(passes, ` UNION `) + `) f
			ORDER BY score DESC, sim DESC, last_name, first_names, id LIMIT ` + arg(q.Limit+1) + ` OFFSET ` + arg(q.Offset) + `) f
			JOIN clients c ON c.id = f.id
			LEFT JOIN staff r ON r.id = c.responsible_staff_id
			ORDER BY f.score DESC, f.sim DESC, c.last_name, c.first_names, c.id`
		return sql, args, nil
	}
	sql := `SELECT ` + summaryCols + ` FROM clients c LEFT JOIN staff r ON r.id = c.responsible_staff_id WHERE ` +
		strings.Join(where, ` AND `) + ` ORDER BY ` + order + ` LIMIT ` + arg(q.Limit+1) + ` OFFSET ` + arg(q.Offset)
	return sql, args, nil
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
