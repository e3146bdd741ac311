package portal_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/portal/portaltest"
)

// tileLayout is what the browser measured of the topic screen.
type tileLayout struct {
	ViewW, ViewH float64
	GridBottom   float64
	TitleBottom  float64
	Tiles        []struct {
		Label                 string
		Top, Bottom           float64
		Left, Right           float64
		LabelLeft, LabelRight float64
		LabelTop, LabelBottom float64
		ScrollW, ClientW      float64
		LabelScrollW          float64
		LabelClientW          float64
		ScrollH, ClientH      float64
		BrokenWord            string // a word split over two lines, if any
	}
}

const measureTiles = `(function(){
  var out = {ViewW: innerWidth, ViewH: innerHeight, Tiles: []};
  var grid = document.querySelector('.kiosk-topics');
  out.GridBottom = grid.lastElementChild.getBoundingClientRect().bottom;
  out.TitleBottom = document.querySelector('.kiosk-title').getBoundingClientRect().bottom;
  // A word drawn on one line has one box; split over two, it has two.
  // Words as the page's language has them: Thai puts no spaces between
  // its words, and breaks lines between them.
  var words = new Intl.Segmenter(document.documentElement.lang, {granularity: 'word'});
  function brokenWord(el) {
    var text = el.firstChild, r = document.createRange();
    for (const w of words.segment(text.data)) {
      if (!w.isWordLike) { continue; }
      r.setStart(text, w.index); r.setEnd(text, w.index + w.segment.length);
      if (r.getClientRects().length > 1) { return w.segment; }
    }
    return '';
  }
  document.querySelectorAll('.topic-tile').forEach(function (a) {
    var r = a.getBoundingClientRect(), l = a.querySelector('.tile-label'), lr = l.getBoundingClientRect();
    out.Tiles.push({Label: l.textContent, Top: r.top, Bottom: r.bottom, Left: r.left, Right: r.right,
      LabelLeft: lr.left, LabelRight: lr.right, LabelTop: lr.top, LabelBottom: lr.bottom,
      ScrollW: a.scrollWidth, ClientW: a.clientWidth, ScrollH: a.scrollHeight, ClientH: a.clientHeight,
      LabelScrollW: l.scrollWidth, LabelClientW: l.clientWidth, BrokenWord: brokenWord(l)});
  });
  return JSON.stringify(out);
})()`

// TestKioskTopicTilesFit: at the kiosk's portrait 1080×1920, a landscape
// 1920×1080 and a phone's 390×844, every topic label in every language
// stays inside its tile and the screen (long Finnish compounds included,
// with one label longer still), tiles of one row are equally tall, no tile
// stands alone on a row of several, no tile covers the title, the grid
// uses the portrait screen's height, and on the phone no real label's
// word is split between letters.
func TestKioskTopicTilesFit(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	// One word longer than any real label, in every language.
	queryString(t, in.OwnerURL, `UPDATE topics SET labels = (SELECT jsonb_object_agg(k, 'Maahanmuuttajaneuvontapalvelukeskuksen asiakaspalvelu') FROM jsonb_object_keys(labels) k)
		WHERE id = (SELECT max(id) FROM topics) RETURNING id::text`)
	screens := []struct {
		name string
		opt  browsertest.Option
	}{{"portrait", browsertest.Kiosk()}, {"landscape", browsertest.Size(1920, 1080)}, {"phone", browsertest.Phone()}}
	for _, sc := range screens {
		ctx := browsertest.New(t, sc.opt)
		for _, lang := range i18n.Languages {
			browsertest.Open(ctx, t, in.URL+"/kiosk/demo?lang="+lang.Code)
			browsertest.WaitVisible(ctx, t, ".kiosk-topics")
			var m tileLayout
			if err := json.Unmarshal([]byte(browsertest.Eval[string](ctx, t, measureTiles)), &m); err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("%s %s", sc.name, lang.Code)
			if lang.Code == "fi" {
				browsertest.Screenshot(ctx, t, "kiosk-topics-"+sc.name+"-fi")
			}
			checkTiles(t, where, sc.name, m)
		}
	}
}

func checkTiles(t *testing.T, where, screen string, m tileLayout) {
	t.Helper()
	const slack = 0.5 // sub-pixel rounding
	rows := map[float64][]int{}
	var order []float64
	for i, tile := range m.Tiles {
		if tile.ScrollW > tile.ClientW || tile.LabelScrollW > tile.LabelClientW+slack || tile.ScrollH > tile.ClientH {
			t.Errorf("%s: %q overflows its tile (tile %v/%v wide, %v/%v high; label %v/%v)", where, tile.Label,
				tile.ScrollW, tile.ClientW, tile.ScrollH, tile.ClientH, tile.LabelScrollW, tile.LabelClientW)
		}
		if tile.LabelLeft < tile.Left-slack || tile.LabelRight > tile.Right+slack || tile.LabelTop < tile.Top-slack || tile.LabelBottom > tile.Bottom+slack {
			t.Errorf("%s: %q is drawn outside its tile", where, tile.Label)
		}
		if tile.Left < -slack || tile.Right > m.ViewW+slack {
			t.Errorf("%s: %q is cut at the screen's edge (%v…%v of %v)", where, tile.Label, tile.Left, tile.Right, m.ViewW)
		}
		if _, ok := rows[tile.Top]; !ok {
			order = append(order, tile.Top)
		}
		rows[tile.Top] = append(rows[tile.Top], i)
	}
	for _, top := range order {
		first := m.Tiles[rows[top][0]]
		for _, i := range rows[top][1:] {
			if h, h0 := m.Tiles[i].Bottom-m.Tiles[i].Top, first.Bottom-first.Top; h < h0-slack || h > h0+slack {
				t.Errorf("%s: tiles of one row differ in height: %q %v, %q %v", where, first.Label, h0, m.Tiles[i].Label, h)
			}
		}
	}
	if first := m.Tiles[rows[order[0]][0]]; first.Top < m.TitleBottom-slack {
		t.Errorf("%s: %q covers the title (tile top %v, title bottom %v)", where, first.Label, first.Top, m.TitleBottom)
	}
	if screen == "phone" {
		// The last topic's one long word is made to be broken.
		for _, tile := range m.Tiles[:len(m.Tiles)-1] {
			if tile.BrokenWord != "" {
				t.Errorf("%s: %q breaks the word %q between lines", where, tile.Label, tile.BrokenWord)
			}
		}
	}
	if last := rows[order[len(order)-1]]; len(rows[order[0]]) > 1 && len(last) == 1 && len(order) > 1 {
		t.Errorf("%s: %q stands alone on the last row (%d tiles in %d rows)", where, m.Tiles[last[0]].Label, len(m.Tiles), len(order))
	}
	if screen == "portrait" && m.GridBottom < 0.6*m.ViewH {
		t.Errorf("%s: the tiles end at %v of a %v high screen: the rest is empty", where, m.GridBottom, m.ViewH)
	}
}
