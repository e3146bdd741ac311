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

// searchSQL builds the search: the filters, one condition per name part
// (so each can use its index), and the ranking. The folding and skeletons
// come from the database's own functions, the ones its search columns are
// built with, so the query and the stored keys always agree.
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
		where = append(where, `c.phone_key LIKE `+arg("%"+escapeLike(key)+"%"))
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
		var rank []string
		for i, f := range folded {
			if f == "" {
				continue
			}
			// Each part must appear in the name: as a substring (which
			// the trigram index answers, prefixes too), or as a word of
			// the same transliteration skeleton (the skeleton index).
			match := []string{`c.search_name LIKE ` + arg("%"+escapeLike(f)+"%")}
			// How well it appears, cheaply: as a whole word, as a
			// variant spelling of one, as the start of one, or inside one.
			score := `CASE WHEN ' ' || c.search_name || ' ' LIKE ` + arg("% "+escapeLike(f)+" %") + ` THEN 4 `
			if k := skeletons[i]; len(k) >= skeletonMin {
				ka := arg([]string{k})
				match = append(match, `c.search_skeletons @> `+ka+`::text[]`)
				score += `WHEN c.search_skeletons @> ` + ka + `::text[] THEN 3 `
			}
			score += `WHEN ' ' || c.search_name LIKE ` + arg("% "+escapeLike(f)+"%") + ` THEN 2 ELSE 1 END`
			where = append(where, `(`+strings.Join(match, ` OR `)+`)`)
			rank = append(rank, score)
		}
		if len(rank) == 0 {
			where = append(where, `false`)
			break
		}
		// The cheap score orders every match; trigram similarity to the
		// whole query then orders the best of them within equal scores,
		// computed for those only, since it costs far more per row.
		window := max(q.Offset+q.Limit+1, rerankWindow)
		sql := `SELECT ` + summaryCols + ` FROM (SELECT c.*, ` + strings.Join(rank, ` + `) + ` AS score FROM clients c WHERE ` +
			strings.Join(where, ` AND `) + ` ORDER BY score DESC, c.last_name, c.first_names, c.id LIMIT ` + arg(window) + `) c
			LEFT JOIN staff r ON r.id = c.responsible_staff_id
			ORDER BY c.score DESC, similarity(c.search_name, ` + arg(whole) + `) DESC, c.last_name, c.first_names, c.id
			LIMIT ` + arg(q.Limit+1) + ` OFFSET ` + arg(q.Offset)
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
