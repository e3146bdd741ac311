package portal

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/stats"
)

func TestDecodeVisitForm(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		errs forms.Errors // exactly these
		want func(in visitInput) bool
	}{
		{"desk visit", "sp=demo&channel=desk&topics=3&topics=4&language=ar&interpreter=phone&outcomes=advice&outcomes=referred&referral=9&age_group=18_29&gender=female",
			forms.Errors{}, func(in visitInput) bool {
				return in.ServicePoint == "demo" && in.Channel == "desk" && slices.Equal(in.TopicIDs, []int64{3, 4}) && in.Language == "ar" &&
					in.Interpreter == "phone" && slices.Equal(in.Outcomes, []string{"advice", "referred"}) && in.ReferralID == 9 &&
					in.AgeGroup == "18_29" && in.Gender == "female"
			}},
		{"defaults", "sp=demo&channel=phone&topics=3&language=fi", forms.Errors{}, func(in visitInput) bool {
			return in.Interpreter == "none" && in.AgeGroup == "not_asked" && in.Gender == "not_asked" && in.TicketID == 0 && len(in.Outcomes) == 0
		}},
		{"walk-in takes its channel from the ticket", "sp=demo&ticket=77&topics=3&language=so", forms.Errors{}, func(in visitInput) bool {
			return in.TicketID == 77 && in.Channel == stats.ChannelWalkIn
		}},
		{"a ticket with another channel", "sp=demo&ticket=77&channel=phone&topics=3&language=so", forms.Errors{"channel": "form.invalid_choice"}, nil},
		{"walk-in without a ticket", "sp=demo&channel=walk_in&topics=3&language=so", forms.Errors{"channel": "form.invalid_choice"}, nil},
		{"nothing chosen", "sp=demo", forms.Errors{"channel": "form.required", "topics": "visit.error.topics_required", "language": "form.required"}, nil},
		{"no service point", "channel=desk&topics=3&language=fi", forms.Errors{"sp": "form.required"}, nil},
		{"bad service point", "sp=Demo!&channel=desk&topics=3&language=fi", forms.Errors{"sp": "form.invalid_slug"}, nil},
		{"bad ticket", "sp=demo&ticket=-1&topics=3&language=fi", forms.Errors{"ticket": "form.out_of_range"}, nil},
		{"bad topic id", "sp=demo&channel=desk&topics=x&language=fi", forms.Errors{"topics": "form.invalid_choice"}, nil},
		{"language not of the portal", "sp=demo&channel=desk&topics=3&language=de", forms.Errors{"language": "form.invalid_choice"}, nil},
		{"bad enums", "sp=demo&channel=fax&topics=3&language=fi&interpreter=sign&outcomes=cured&age_group=40&gender=x",
			forms.Errors{"channel": "form.invalid_choice", "interpreter": "form.invalid_choice", "outcomes": "form.invalid_choice",
				"age_group": "form.invalid_choice", "gender": "form.invalid_choice"}, nil},
		{"referred without a service", "sp=demo&channel=desk&topics=3&language=fi&outcomes=referred", forms.Errors{"referral": "visit.error.referral_required"}, nil},
		{"a service without referred", "sp=demo&channel=desk&topics=3&language=fi&outcomes=advice&referral=9", forms.Errors{"referral": "visit.error.referral_not_referred"}, nil},
		{"bad referral id", "sp=demo&channel=desk&topics=3&language=fi&outcomes=referred&referral=abc", forms.Errors{"referral": "form.not_a_number"}, nil},
		{"too many topics", "sp=demo&channel=desk&language=fi" + strings.Repeat("&topics=3", maxVisitTopics+1), forms.Errors{"topics": "form.invalid_choice"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := url.ParseQuery(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			in, errs := decodeVisitForm(v)
			if len(errs) != len(c.errs) {
				t.Errorf("errors %v, want %v", errs, c.errs)
			}
			for field, key := range c.errs {
				if errs[field] != key {
					t.Errorf("%s: %q, want %q (all: %v)", field, errs[field], key, errs)
				}
			}
			if c.want != nil && !c.want(in) {
				t.Errorf("decoded %+v", in)
			}
		})
	}
}

// FuzzDecodeVisitForm: whatever a form posts, the decoder neither panics
// nor lets a value through that the database would refuse or that the
// record must not hold; every problem has a message key.
func FuzzDecodeVisitForm(f *testing.F) {
	f.Add("sp=demo&channel=desk&topics=1&language=fi")
	f.Add("sp=demo&ticket=5&topics=1&topics=2&language=ar&interpreter=on_site&outcomes=referred&referral=3")
	f.Add("sp=demo&channel=chat&topics=1&language=zh-Hans&age_group=65_plus&gender=other&outcomes=assessment")
	f.Add("sp=%ff&topics=0&language=&referral=1e9&ticket=99999999999999999999")
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		in, errs := decodeVisitForm(v)
		for field, key := range errs {
			if key == "" || !strings.HasPrefix(key, "form.") && !strings.HasPrefix(key, "visit.error.") {
				t.Fatalf("field %s has message key %q", field, key)
			}
		}
		if len(errs) > 0 {
			return
		}
		switch {
		case in.ServicePoint == "":
			t.Fatal("accepted without a service point")
		case len(in.TopicIDs) == 0 || len(in.TopicIDs) > maxVisitTopics:
			t.Fatalf("accepted %d topics", len(in.TopicIDs))
		case !slices.Contains(stats.Languages(), in.Language):
			t.Fatalf("accepted language %q", in.Language)
		case !slices.Contains(stats.Interpreters, in.Interpreter):
			t.Fatalf("accepted interpreter %q", in.Interpreter)
		case !slices.Contains(stats.AgeGroups, in.AgeGroup) || !slices.Contains(stats.Genders, in.Gender):
			t.Fatalf("accepted age group %q, gender %q", in.AgeGroup, in.Gender)
		case in.TicketID > 0 && in.Channel != stats.ChannelWalkIn,
			in.TicketID == 0 && !slices.Contains(stats.ChannelsWithoutTicket, in.Channel):
			t.Fatalf("accepted channel %q with ticket %d", in.Channel, in.TicketID)
		case in.TicketID < 0 || in.ReferralID < 0:
			t.Fatalf("accepted ticket %d, referral %d", in.TicketID, in.ReferralID)
		case slices.Contains(in.Outcomes, stats.OutcomeReferred) != (in.ReferralID > 0):
			t.Fatalf("accepted outcomes %v with referral %d", in.Outcomes, in.ReferralID)
		}
		for _, id := range in.TopicIDs {
			if id <= 0 {
				t.Fatalf("accepted topic id %d", id)
			}
		}
		for _, o := range in.Outcomes {
			if !slices.Contains(stats.Outcomes, o) {
				t.Fatalf("accepted outcome %q", o)
			}
		}
	})
}

func TestVisitBackQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"desk=3&topics=1,2":                  "desk=3&topics=1%2C2",
		"desk=3&next=//evil.example":         "desk=3",
		"desk=x&topics=1;DROP":               "",
		"%zz":                                "",
		"topics=" + strings.Repeat("1", 600): "",
	} {
		if got := visitBackQuery(raw); got != want {
			t.Errorf("visitBackQuery(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestVisitLanguageOf(t *testing.T) {
	for tag, want := range map[string]string{"ar": "ar", "fa-IR": "fa", "ZH-hans": "zh-Hans", "zh": "zh-Hans", "de": "", "": ""} {
		if got := visitLanguageOf(tag); got != want {
			t.Errorf("visitLanguageOf(%q) = %q, want %q", tag, got, want)
		}
	}
}
