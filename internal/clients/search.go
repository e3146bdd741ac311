package clients

import (
	"context"
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
	// rerankWindow is how many candidates a name search ranks at least:
	// every match of the better kinds, filled up with the next kind.
	rerankWindow = 200
	// phoneWindow is how many clients a part of a phone number finds at
	// most (four digits match a few hundred in a million).
	phoneWindow = 1000
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
// query matches every part, in any order, ignoring case and accents: as a
// whole word, by transliteration skeleton (Muhammad finds Mohammed; a vowel
// mistyped, Virtanan, finds Virtanen) or as the start of a word; a part of
// three letters or more found only inside a word counts when nothing else
// is found. Whole words come first, then spelling variants, then word
// starts, and among equals the closest by trigram similarity. A query of
// digits finds phone numbers however they were written. One access-log row
// records the search (not its words, which may name someone).
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

// searchSQL builds the search: the filters, the matching, and the ranking.
//
// Matching happens in koto_search_clients (migration 00023), which reads
// the search indexes for the actor's tenant and returns at most about a
// window of candidate ids, every match of the better kinds first: whole
// words, then spelling variants (the transliteration skeleton), then word
// starts, and only when those find nobody a part inside a word. So a search
// reads a bounded number of rows however large the register and however
// common the name. This query reads the candidates back through row-level
// security and ranks them: by the weakest part's kind of match, then by
// all parts' together, then by trigram similarity to the whole query.
// The folding and skeletons come from the database's own functions, the
// ones its search columns are built with, so query and keys always agree.
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
	// The candidates come as an array, so the planner reads them by the
	// primary key whatever it guesses of their number: as a semi-join
	// with a set, it scanned the whole register of a small municipality
	// (10,000 clients: 8 ms of a 12 ms search).
	candidates := func(parts, skeletons []string, phone string, window int) string {
		return `c.id = ANY(ARRAY(SELECT koto_search_clients(` + arg(parts) + `::text[], ` + arg(skeletons) + `::text[], ` + arg(phone) +
			`, $1, $2, $3, $4, $5, ` + arg(window) + `)))`
	}

	switch {
	case q.Text == "":
	case phoneQuery(q.Text):
		var key string
		if err := tx.QueryRow(ctx, `SELECT koto_phone_key($1)`, q.Text).Scan(&key); err != nil {
			return "", nil, err
		}
		where = append(where, candidates(nil, nil, key, max(q.Offset+q.Limit+1, phoneWindow)))
	default:
		tokens := nameTokens(q.Text)
		if len(tokens) == 0 {
			where = append(where, `false`)
			break
		}
		var folded, skeletons []string
		var whole string
		if err := tx.QueryRow(ctx, `SELECT array_agg(koto_fold(t) ORDER BY n), array_agg(koto_name_skeleton(t) ORDER BY n),
				koto_fold(array_to_string($1::text[], ' '))
			FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)`, tokens).Scan(&folded, &skeletons, &whole); err != nil {
			return "", nil, err
		}
		var parts, skels, level []string
		for i, f := range folded {
			if f == "" {
				continue
			}
			k := skeletons[i]
			if len(k) < skeletonMin {
				k = ""
			}
			parts, skels = append(parts, f), append(skels, k)
			// How well this part matches, as the passes rank it.
			l := `CASE WHEN c.search_terms @> ` + arg([]string{f}) + `::text[] THEN 4 `
			if k != "" {
				l += `WHEN c.search_terms @> ` + arg([]string{"#" + k}) + `::text[] THEN 3 `
			}
			level = append(level, l+`WHEN c.search_terms @> `+arg([]string{f + "*"})+`::text[] THEN 2 ELSE 1 END`)
		}
		if len(parts) == 0 {
			where = append(where, `false`)
			break
		}
		where = append(where, candidates(parts, skels, "", max(q.Offset+q.Limit+1, rerankWindow)))
		order = `least(` + strings.Join(level, `, `) + `) DESC, ` + strings.Join(level, ` + `) + ` DESC, similarity(c.search_name, ` +
			arg(whole) + `) DESC, ` + order
	}
	sql := `SELECT ` + summaryCols + ` FROM clients c LEFT JOIN staff r ON r.id = c.responsible_staff_id WHERE ` +
		strings.Join(where, ` AND `) + ` ORDER BY ` + order + ` LIMIT ` + arg(q.Limit+1) + ` OFFSET ` + arg(q.Offset)
	return sql, args, nil
}
