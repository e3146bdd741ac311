#!/usr/bin/env python3
"""Regenerates the portal's web fonts: `make fonts`.

The kiosk, the waiting-room display and the phone pages must show every
script the portal is translated into, on devices that may lack a font for
it, without asking another site for one. These are subsets of Debian's Noto
fonts (OFL-1.1, see OFL.txt), one file per script and weight, in WOFF2, and
app.css loads each only for the characters of its script (unicode-range), so
a page downloads only what its text needs.

The letters of Arabic, Thai and Ethiopic scripts are kept whole: service
points' names and topics' labels are typed by staff, in any word of those
languages. Chinese has tens of thousands of characters, so its subset holds
only those of the message files and the demo's labels; a character outside it
falls back to the device's own fonts.

Needs Debian's fonts-noto-core and fonts-noto-cjk (the versions are written
into fonts.txt) and fontTools with Brotli (python3-fonttools, python3-brotli).
"""
import glob
import json
import os
import re
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NOTO = "/usr/share/fonts/truetype/noto"
CJK = "/usr/share/fonts/opentype/noto"


# Each script: the CSS family, its unicode-range, the characters kept whole,
# and where its regular and bold fonts are (a .ttc with the face's index).
SCRIPTS = [
    {
        "name": "arabic",
        "family": "Koto Arabic",
        # Arabic, Persian, Dari and Sorani letters, Arabic-Indic digits and
        # punctuation; the direction and joining controls.
        "range": [(0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF), (0x200C, 0x200F)],
        "whole": [(0x0600, 0x06FF), (0x200C, 0x200F)],
        "fonts": {400: (f"{NOTO}/NotoSansArabic-Regular.ttf", None), 700: (f"{NOTO}/NotoSansArabic-Bold.ttf", None)},
    },
    {
        "name": "thai",
        "family": "Koto Thai",
        "range": [(0x0E01, 0x0E5B)],
        "whole": [(0x0E01, 0x0E5B)],
        "fonts": {400: (f"{NOTO}/NotoSansThai-Regular.ttf", None), 700: (f"{NOTO}/NotoSansThai-Bold.ttf", None)},
    },
    {
        "name": "ethiopic",
        "family": "Koto Ethiopic",
        "range": [(0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F)],
        "whole": [(0x1200, 0x137F)],
        "fonts": {400: (f"{NOTO}/NotoSansEthiopic-Regular.ttf", None), 700: (f"{NOTO}/NotoSansEthiopic-Bold.ttf", None)},
    },
    {
        "name": "cjk",
        "family": "Koto CJK",
        # CJK punctuation, ideographs and full-width forms.
        "range": [(0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF)],
        "whole": [],
        "features": ["vert", "vrt2", "halt", "vhal"],
        "fonts": {400: (f"{CJK}/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"), 700: (f"{CJK}/NotoSansCJK-Bold.ttc", "Noto Sans CJK SC")},
    },
]


# The message files that only staff pages read (internal/i18n's staffAreas):
# staff read them on their own desktops, not on the kiosk or a phone.
STAFF_AREAS = ("setup", "staff", "account", "visits", "tasks", "api", "clients", "signin", "translations")
STAFF_PREFIXES = ("queue.", "appt.", "nav.", "enrol.create", "enrol.revoke", "enrol.heading")
VISITOR_IDS = ("nav.skip",)


def used_characters():
    """Every character of the visitors' messages and the demo's labels."""
    text = []

    def walk(v):
        if isinstance(v, str):
            text.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for path in sorted(glob.glob(os.path.join(ROOT, "locales", "*.json"))):
        if os.path.basename(path).split(".")[0] in STAFF_AREAS:
            continue
        with open(path, encoding="utf-8") as f:
            walk({k: v for k, v in json.load(f).items() if k in VISITOR_IDS or not k.startswith(STAFF_PREFIXES)})
    with open(os.path.join(ROOT, "internal", "demo", "demo.json"), encoding="utf-8") as f:
        walk(json.load(f))
    # The kiosk's first screen and the language pickers show each
    # language's own name, which lives in Go code.
    with open(os.path.join(ROOT, "internal", "i18n", "i18n.go"), encoding="utf-8") as f:
        text.extend(re.findall(r'(?:Name|Spoken): "([^"]+)"', f.read()))
    return {ord(c) for c in "".join(text)}


def within(cp, spans):
    return any(a <= cp <= b for a, b in spans)


def load(path, face):
    # The original's timestamp, not today's: the same inputs give the same
    # bytes.
    if face is None:
        return TTFont(path, recalcTimestamp=False)
    for font in TTCollection(path, recalcTimestamp=False).fonts:
        if font["name"].getDebugName(1) == face:
            return font
    sys.exit(f"{path}: no face {face}")


def css_range(spans):
    return ", ".join(f"U+{a:04X}-{b:04X}" for a, b in spans)


def main():
    used = used_characters()
    faces = []
    for s in SCRIPTS:
        keep = {cp for cp in used if within(cp, s["range"])}
        for a, b in s["whole"]:
            keep.update(range(a, b + 1))
        if not s["whole"]:
            # What the subset holds, for the test that catches a message
            # with a character the font lost (static's TestFontsCoverTheMessages).
            with open(os.path.join(HERE, s["name"] + ".txt"), "w", encoding="utf-8") as f:
                f.write("".join(chr(cp) for cp in sorted(keep)) + "\n")
        for weight, (path, face) in s["fonts"].items():
            font = load(path, face)
            cmap = font.getBestCmap()
            options = subset.Options()
            options.flavor = "woff2"
            # Shaping needs every feature of Arabic, Thai and Ethiopic
            # (joining forms, marks, ligatures); Chinese needs none of the
            # Japanese and Korean alternates the CJK font carries.
            options.layout_features = s.get("features", ["*"])
            options.name_IDs = ["*"]  # keep the copyright and licence notices
            options.notdef_outline = True
            options.hinting = False  # screens are high-resolution enough; saves a third
            sub = subset.Subsetter(options)
            sub.populate(unicodes=[cp for cp in keep if cp in cmap])
            sub.subset(font)
            out = os.path.join(HERE, f"{s['name']}-{weight}.woff2")
            font.flavor = "woff2"
            font.save(out)
            faces.append((s, weight, os.path.basename(out), os.path.getsize(out)))
    with open(os.path.join(HERE, "fonts.txt"), "w", encoding="utf-8") as f:
        f.write("Generated by subset.py (make fonts); do not edit.\n\n")
        for s, weight, name, size in faces:
            src = os.path.basename(s["fonts"][weight][0])
            f.write(f"{name}\t{size} bytes\tfrom {src}\n")
        f.write("\n" + versions() + "\n")
    with open(os.path.join(ROOT, "static", "css", "fonts.css"), "w", encoding="utf-8") as f:
        f.write("/* Generated by static/fonts/subset.py (make fonts); do not edit. Noto fonts, OFL-1.1: fonts/OFL.txt.\n")
        f.write("   app.css puts these families first: a page downloads a file only for the characters of its range. */\n")
        for s, weight, name, _ in faces:
            f.write(
                "@font-face { font-family: \"%s\"; font-weight: %d; font-display: swap; src: url(\"../fonts/%s\") format(\"woff2\"); unicode-range: %s; }\n"
                % (s["family"], weight, name, css_range(s["range"]))
            )
    write_licence()


def versions():
    import fontTools

    lines = [f"fontTools {fontTools.version}"]
    for pkg in ("fonts-noto-core", "fonts-noto-cjk"):
        v = os.popen(f"dpkg-query -W -f='${{Version}}' {pkg} 2>/dev/null").read().strip()
        lines.append(f"{pkg} {v or 'unknown'}")
    return "\n".join(lines)


def write_licence():
    """OFL.txt: the fonts' copyright and the licence text, from Debian."""
    with open("/usr/share/doc/fonts-noto-core/copyright", encoding="utf-8") as f:
        text = f.read()
    body = " PREAMBLE" + text.split("\nLicense: OFL-1.1\n PREAMBLE", 1)[1]
    lines = []
    for line in body.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append("" if line.strip() == "." else line[1:])
    with open(os.path.join(HERE, "OFL.txt"), "w", encoding="utf-8") as f:
        f.write("Noto fonts: Copyright 2010-2020 Google Inc. and Google LLC (Noto Sans Arabic, Thai, Ethiopic);\n")
        f.write("Copyright 2014-2021 Adobe (Noto Sans CJK). This Font Software is licensed under the\n")
        f.write("SIL Open Font License, Version 1.1. The files here are subsets of the originals.\n\n")
        f.write("\n".join(lines).strip() + "\n")


if __name__ == "__main__":
    main()
