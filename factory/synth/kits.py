"""What the synthetic people wear: team kits with a pattern (plain, vertical stripes, hoops,
halves, a chest band, contrasting sleeves), shorts and socks, referee and goalkeeper colours
chosen by a colour-distance rule, and each team's jersey-number style.

Everything here is drawn from the style stream (`Scene` passes `np.random.default_rng([seed,
17])`), never from the world stream that scripts the match, so a seed's positions, events and
camera do not depend on what people wear.

Colour distance is CIE76 Delta E in CIELAB (`colour_distance`): about 2 is just noticeable,
25 is "clearly another colour but could be confused at a glance" (a referee's minimum), 50
and more is an obviously different kit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

BGR = tuple[int, int, int]

WHITE, BLACK = (245, 245, 245), (22, 22, 22)
PATTERNS = ("plain", "stripes", "hoops", "halves", "band")
_PATTERN_P = (0.55, 0.18, 0.12, 0.05, 0.10)
# Second colours of patterned kits and contrasting sleeves (BGR).
_SECONDS = [WHITE, BLACK, (110, 30, 15), (40, 40, 200), (225, 170, 90), (30, 200, 235),
            (50, 130, 30), (50, 20, 110), (20, 120, 240)]
# Referee shirts: black, yellow, pink, red, light blue, green, orange, purple, grey, teal.
REFEREE_SHIRTS = [(25, 25, 25), (20, 220, 235), (180, 60, 230), (40, 40, 210), (235, 190, 120),
                  (70, 180, 60), (20, 130, 245), (150, 40, 110), (140, 140, 140), (160, 160, 20)]
REFEREE_MIN_DISTANCE = 25.0  # Delta E to every colour of both teams' kits
# Goalkeepers: neon green, yellow, magenta, grey, orange, sky, purple, black, lime, red.
KEEPER_SHIRTS = [(40, 230, 120), (20, 220, 240), (200, 50, 220), (60, 60, 60), (0, 140, 255),
                 (240, 200, 80), (140, 20, 90), (25, 25, 25), (60, 240, 190), (30, 30, 190)]
KEEPER_MIN_DISTANCE = 30.0  # Delta E to both teams' colours, the referee and the other keeper
# Number fills and outlines: white, black, gold, navy, red, yellow, sky, claret.
_INKS = [WHITE, BLACK, (40, 175, 225), (90, 30, 20), (40, 40, 200), (30, 225, 245),
         (230, 180, 100), (50, 20, 110)]
MIN_INK_CONTRAST = 40.0  # L* difference between a number and the fabric it is printed on
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
         cv2.FONT_HERSHEY_TRIPLEX)


def lab(bgr) -> np.ndarray:
    """CIELAB (D65) of sRGB colours given as BGR 0-255, shape (..., 3)."""
    c = np.asarray(bgr, np.float64)[..., ::-1] / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], -1)


def colour_distance(a, b) -> float:
    """CIE76 Delta E between two BGR colours."""
    return float(np.linalg.norm(lab(a) - lab(b)))


def lightness_contrast(a, b) -> float:
    """|L*(a) - L*(b)|: what makes print legible on fabric, whatever the hues."""
    return float(abs(lab(a)[0] - lab(b)[0]))


@dataclass(frozen=True)
class Kit:
    """A shirt: main colour, pattern and the pattern's second colour. `bands` is the number of
    vertical bands across the front (stripes) or horizontal bands down the torso (hoops)."""

    shirt: BGR
    pattern: str = "plain"
    second: BGR | None = None
    bands: int = 0
    sleeves: BGR | None = None  # contrasting sleeves; None: the shirt's colour

    def colours(self) -> list[BGR]:
        """Every colour a viewer sees on the shirt."""
        return [c for c in (self.shirt, self.second, self.sleeves) if c is not None]

    @property
    def sleeve_colour(self) -> BGR:
        return self.sleeves if self.sleeves is not None else self.shirt


@dataclass(frozen=True)
class NumberStyle:
    """How a team prints its numbers (all its numbers share it, as on a real kit). Sizes are
    digit heights in metres; widths follow the font and `condense`."""

    font: int = cv2.FONT_HERSHEY_DUPLEX
    weight: float = 0.14  # stroke width / digit height
    slant: float = 0.0  # italic shear: horizontal shift per unit of height
    condense: float = 1.0  # horizontal scale of the glyphs
    fill: BGR = WHITE
    outline: BGR | None = None
    outline_width: float = 0.05  # / digit height, each side of the stroke
    accent: BGR | None = None  # second colour of a two-colour number
    accent_kind: str | None = None  # shadow (offset copy behind) or split (lower half)
    back_height: float = 0.30
    front_height: float = 0.12
    fold: float = 0.0  # fabric fold: amplitude of the sinusoidal warp, fraction of height
    fold_shade: float = 0.0  # darkening along the fold's crease (0-1)
    panel: BGR | None = None  # plain patch behind the back number (on patterned shirts)

    @property
    def legibility(self) -> float:
        """How much of its height a number in this style is worth to a reader (1: an upright
        one-colour print): italics and a second colour at the strokes' edges (outline,
        shadow) each cost 8 % (set by eye on numbers 8-12 px tall)."""
        return (0.92 if self.slant else 1.0) * (0.92 if self.outline or self.accent_kind == "shadow" else 1.0)


@dataclass(frozen=True)
class TeamLook:
    kit: Kit
    shorts: BGR
    socks: BGR
    numbers: NumberStyle


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _team_kit(rng: np.random.Generator, shirt: BGR, other: BGR) -> Kit:
    pattern = PATTERNS[int(rng.choice(len(PATTERNS), p=_PATTERN_P))]
    seconds = [c for c in _SECONDS if colour_distance(c, shirt) >= 45]
    if pattern == "plain":
        sleeves = _pick(rng, seconds) if rng.random() < 0.2 else None
        return Kit(shirt, "plain", None, 0, sleeves)
    # The hard case now and then: one of the pattern's colours is the other team's shirt
    # (blue-black stripes against a black or blue side, white hoops against a white side).
    if rng.random() < 0.3 and colour_distance(other, shirt) >= 45:
        second = other
    else:
        second = _pick(rng, seconds)
    bands = {"stripes": int(rng.choice([5, 7, 9])), "hoops": int(rng.choice([5, 6, 7])),
             "halves": 2, "band": 3}[pattern]
    sleeves = None
    if pattern in ("stripes", "halves") and rng.random() < 0.4:
        sleeves = second if rng.random() < 0.7 else shirt
    return Kit(shirt, pattern, second, bands, sleeves)


def _fabric(kit: Kit) -> list[BGR]:
    """The colours a number may be printed on."""
    if kit.pattern == "plain":
        return [kit.shirt]
    return [kit.shirt, kit.second]


def _solo_inks(fabric: list[BGR], extra: list[BGR]) -> list[BGR]:
    """Inks that contrast with every fabric colour on their own."""
    return [c for c in _INKS + [c for c in extra if c not in _INKS]
            if min(lightness_contrast(c, f) for f in fabric) >= MIN_INK_CONTRAST]


def _inks(rng: np.random.Generator, fabric: list[BGR], extra: list[BGR]):
    """(fill, outline or None, whether the outline carries contrast) legible on every fabric
    colour: one ink where one contrasts with all of them, else a fill that contrasts with
    the first fabric (the panel or the shirt) and an outline for the colours it does not."""
    solo = _solo_inks(fabric, extra)
    if solo:
        return _pick(rng, solo), None, False
    inks = _INKS + [c for c in extra if c not in _INKS]
    pairs = [(a, b) for a in inks for b in inks
             if lightness_contrast(a, b) >= 30
             and all(max(lightness_contrast(a, f), lightness_contrast(b, f)) >= MIN_INK_CONTRAST
                     for f in fabric)
             and lightness_contrast(a, fabric[0]) >= MIN_INK_CONTRAST]
    if not pairs:  # never needed by the palettes here: white and black contrast with any fabric
        pairs = [(WHITE, BLACK) if lab(fabric[0])[0] < 55 else (BLACK, WHITE)]
    fill, outline = _pick(rng, pairs)
    return fill, outline, True


def number_style(rng: np.random.Generator, kit: Kit) -> NumberStyle:
    """A team's number style for `kit`, legible on each colour the number sits on: striped
    and hooped shirts often carry the back number on a plain panel, always when no single ink
    contrasts with both colours; where the fill alone does not contrast with a colour, a thick
    outline does."""
    fabrics = _fabric(kit)
    extra = [kit.second] if kit.second is not None else []
    panel = None
    if kit.pattern in ("stripes", "hoops"):
        if not _solo_inks(fabrics, extra) or rng.random() < 0.35:
            panel = kit.shirt if rng.random() < 0.5 else WHITE
    # The back number may sit on the panel; the front one is on the shirt's colours.
    fabric = ([panel] if panel is not None else []) + [c for c in fabrics if c != panel]
    fill, outline, carried = _inks(rng, fabric, extra)
    outline_width = float(rng.uniform(0.07, 0.09) if carried else rng.uniform(0.035, 0.06))
    if outline is None and rng.random() < 0.35:
        outline = _pick(rng, [c for c in _INKS if lightness_contrast(c, fill) >= 30])
    accent, accent_kind = None, None
    r = rng.random()
    if r < 0.25:
        accent_kind = "shadow" if r < 0.15 else "split"
        choices = [c for c in _INKS + extra if colour_distance(c, fill) >= 35
                   and (accent_kind == "shadow" or min(lightness_contrast(c, f) for f in fabric) >= MIN_INK_CONTRAST)]
        if choices:
            accent = _pick(rng, choices)
        else:
            accent_kind = None
    slant = float(rng.uniform(0.12, 0.25)) if rng.random() < 0.25 else 0.0
    fold = float(rng.uniform(0.015, 0.05)) if rng.random() < 0.5 else 0.0
    return NumberStyle(font=int(_pick(rng, list(FONTS))), weight=float(rng.uniform(0.10, 0.17)),
                       slant=slant, condense=float(rng.uniform(0.62, 0.9)), fill=fill,
                       outline=outline, outline_width=outline_width,
                       accent=accent, accent_kind=accent_kind,
                       back_height=float(rng.uniform(0.25, 0.34)),
                       front_height=float(rng.uniform(0.10, 0.15)), fold=fold,
                       fold_shade=float(rng.uniform(0.1, 0.3)) if fold else 0.0, panel=panel)


def keeper_numbers(style: NumberStyle, shirt: BGR) -> NumberStyle:
    """The team's number style on a goalkeeper's plain shirt: same font and size, inks
    swapped for black or white where the team's do not contrast with the keeper's colour."""
    style = replace(style, panel=None)
    if lightness_contrast(style.fill, shirt) >= MIN_INK_CONTRAST:
        return style
    fill = WHITE if lab(shirt)[0] < 55 else BLACK
    outline = None if style.outline is None else (BLACK if fill == WHITE else WHITE)
    accent = style.accent if style.accent_kind == "shadow" else None
    return replace(style, fill=fill, outline=outline, accent=accent,
                   accent_kind="shadow" if accent is not None else None)


def dress_team(rng: np.random.Generator, shirt: BGR, shorts: BGR, other: BGR) -> TeamLook:
    kit = _team_kit(rng, shirt, other)
    r = rng.random()
    if r < 0.2:
        shorts = shirt  # one colour from shirt to shorts
    elif r < 0.35 and kit.second is not None:
        shorts = kit.second
    r = rng.random()
    socks = shirt if r < 0.6 else shorts if r < 0.85 or kit.second is None else kit.second
    return TeamLook(kit, shorts, socks, number_style(rng, kit))


def _distance_to_kits(c: BGR, colours: list[BGR]) -> float:
    return min(colour_distance(c, k) for k in colours)


def choose_shirt(rng: np.random.Generator, palette: list[BGR], avoid: list[BGR],
                 min_distance: float, moderate: float = 0.0) -> BGR:
    """A colour of `palette` at least `min_distance` (Delta E) from every colour in `avoid`;
    with probability `moderate`, one of those only moderately distinct (under min + 20). The
    bar drops 5 at a time if nothing clears it (never needed by the palettes here)."""
    bar = min_distance
    while True:
        ok = [c for c in palette if _distance_to_kits(c, avoid) >= bar]
        if ok:
            near = [c for c in ok if _distance_to_kits(c, avoid) < bar + 20]
            if near and rng.random() < moderate:
                return _pick(rng, near)
            return _pick(rng, ok)
        bar -= 5.0


def referee_shirt(rng: np.random.Generator, teams: list[Kit]) -> BGR:
    avoid = [c for k in teams for c in k.colours()]
    return choose_shirt(rng, REFEREE_SHIRTS, avoid, REFEREE_MIN_DISTANCE, moderate=0.3)


def keeper_shirts(rng: np.random.Generator, drawn: tuple[BGR, BGR], teams: list[Kit],
                  referee: BGR | None) -> tuple[BGR, BGR]:
    """Keep the keepers' drawn shirts where they clear KEEPER_MIN_DISTANCE from both teams,
    the referees and each other; replace those that do not."""
    avoid = [c for k in teams for c in k.colours()] + ([referee] if referee is not None else [])
    out: list[BGR] = []
    for gk in drawn:
        others = avoid + out
        if _distance_to_kits(gk, others) < KEEPER_MIN_DISTANCE:
            gk = choose_shirt(rng, KEEPER_SHIRTS, others, KEEPER_MIN_DISTANCE)
        out.append(gk)
    return out[0], out[1]
