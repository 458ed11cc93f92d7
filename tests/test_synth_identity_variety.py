"""The synthetic world's looks vary like broadcast football (patterned kits, referees and
keepers in many colours kept apart by a colour-distance rule, number styles per team, blur)
while the match of a seed, the people's masks and the readability rule stay exact."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from factory.geometry.camera import camera_looking_at
from factory.synth import make_config
from factory.synth.clip import Scene
from factory.synth.kits import (
    KEEPER_MIN_DISTANCE,
    MIN_INK_CONTRAST,
    REFEREE_MIN_DISTANCE,
    Kit,
    colour_distance,
    lightness_contrast,
)
from factory.synth.numbers import readable_height
from factory.synth.render import FrameRenderer
from factory.synth.world import make_people, simulate

SEEDS = range(1, 31)
W, H = 960, 540


def _people(seed: int, kit_similarity: float = 0.3):
    """The people of `seed` as Scene draws them (world and style streams)."""
    return make_people(np.random.default_rng([seed, 0]), kit_similarity, 3,
                       np.random.default_rng([seed, 17]))


@pytest.fixture(scope="module")
def squads():
    return {seed: _people(seed) for seed in SEEDS}


def _teams(people):
    return {t: [p for p in people if p.team == t] for t in ("left", "right")}


def _outfield_kit(squad) -> Kit:
    return next(p for p in squad if p.role == "player").kit


def test_kits_come_plain_striped_hooped_and_with_sleeves(squads):
    kits = [_outfield_kit(s) for people in squads.values() for s in _teams(people).values()]
    patterns = [k.pattern for k in kits]
    assert {"plain", "stripes", "hoops"} <= set(patterns)
    assert patterns.count("plain") > len(kits) / 3  # plain stays the most common
    assert any(k.sleeves is not None for k in kits)
    assert all(k.second is not None and colour_distance(k.second, k.shirt) >= 40
               for k in kits if k.pattern != "plain")
    # The hard case: a patterned team wearing the other team's shirt colour as its second.
    hard = [seed for seed, people in squads.items()
            if any(_outfield_kit(a).second == _outfield_kit(b).shirt
                   for a, b in (tuple(_teams(people).values()), tuple(_teams(people).values())[::-1]))]
    assert hard


def test_referees_and_keepers_keep_their_distance(squads):
    ref_colours, moderate = set(), 0
    for people in squads.values():
        teams = _teams(people)
        team_colours = [c for s in teams.values() for c in _outfield_kit(s).colours()]
        refs = [p for p in people if p.role == "referee"]
        assert len({p.shirt for p in refs}) == 1  # the officials dress alike
        ref = refs[0].shirt
        gap = min(colour_distance(ref, c) for c in team_colours)
        assert gap >= REFEREE_MIN_DISTANCE
        moderate += gap < REFEREE_MIN_DISTANCE + 20
        ref_colours.add(ref)
        keepers = [p.shirt for p in people if p.role == "goalkeeper"]
        for k, gk in enumerate(keepers):
            others = team_colours + [ref] + keepers[:k]
            assert min(colour_distance(gk, c) for c in others) >= KEEPER_MIN_DISTANCE
    assert len(ref_colours) >= 5  # black, yellow, pink, red, light blue, green, ...
    assert moderate >= 2  # and sometimes only moderately distinct from a team


def test_number_styles_belong_to_teams_and_vary(squads):
    styles = []
    for people in squads.values():
        per_team = []
        for squad in _teams(people).values():
            outfield = {p.number_style for p in squad if p.role == "player"}
            assert len(outfield) == 1  # like a real kit: one style for the whole team
            style = outfield.pop()
            keeper = next(p for p in squad if p.role == "goalkeeper").number_style
            assert (keeper.font, keeper.back_height) == (style.font, style.back_height)
            per_team.append(style)
            kit = _outfield_kit(squad)
            # Legible on every colour it may sit on: the fill, or the outline around it.
            fabric = [c for c in (kit.shirt, kit.second, style.panel) if c is not None]
            for c in fabric:
                best = max(lightness_contrast(style.fill, c),
                           lightness_contrast(style.outline, c) if style.outline else 0.0)
                assert best >= MIN_INK_CONTRAST, (kit, style)
            assert 0.24 <= style.back_height <= 0.35 and 0.09 <= style.front_height <= 0.16
        assert per_team[0] != per_team[1]
        styles += per_team
    assert len({s.font for s in styles}) >= 3
    assert len({s.fill for s in styles}) >= 3
    assert any(s.outline for s in styles) and any(not s.outline for s in styles)
    assert {"shadow", "split"} <= {s.accent_kind for s in styles}
    assert any(s.slant for s in styles) and any(s.fold for s in styles)


def test_kit_similarity_still_brings_the_teams_together():
    def gap(sim):
        return np.mean([colour_distance(*(_outfield_kit(s).shirt for s in _teams(_people(seed, sim)).values()))
                        for seed in range(1, 11)])
    assert gap(0.8) < 0.5 * gap(0.0)


def test_what_people_wear_never_moves_them():
    # As Scene does: the world stream dresses the squads, then plays the match.
    matches = []
    for style_seed in ([4, 17], 99):
        world = np.random.default_rng([4, 0])
        people = make_people(world, 0.3, 3, np.random.default_rng(style_seed))
        matches.append(simulate(people, 60, 25.0, world, 0.5))
    a, b = matches
    assert [p.jersey for p in a.people] == [p.jersey for p in b.people]
    assert [p.kit for p in a.people] != [p.kit for p in b.people]
    assert np.array_equal(a.positions, b.positions) and a.events == b.events


def test_readability_counts_blur():
    assert readable_height(9.0, 0.0) == 9.0
    assert readable_height(12.0, 1.0) < 9.0 < readable_height(15.0, 1.0)
    assert readable_height(30.0, 3.0) < 9.0  # a big number under heavy blur is not readable
    assert readable_height(9.5, 0.0, legibility=0.92) < 9.0


# --- rendered -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scene():
    # Seed 1: two striped teams, a lens that blurs fast runners.
    return Scene(make_config("broadcast", seconds=1.0, width=W, height=H, scorebug=False), 1)


def _renderer(scene, match=None, **overrides):
    return FrameRenderer(scene.cfg.with_overrides(**overrides), match or scene.match,
                         scene.stadium, scene.cameras, np.random.default_rng(0), scene.lens)


def _tight(scene, f, i, focal):
    x, y = scene.match.positions[f, i]
    return camera_looking_at(np.array([2.0, 62.0, -16.0]), np.array([x, y, -1.0]), focal, W, H)


def _shots(scene):
    """Tight cameras on the players nearest the ball, a few frames apart."""
    for f in range(0, 25, 4):
        d = np.linalg.norm(scene.match.positions[f] - scene.match.ball[f, :2], axis=1)
        for i, focal in zip(np.argsort(d)[:3], (5000.0, 3500.0, 2500.0)):
            yield f, _tight(scene, f, i, focal)


def test_readable_numbers_are_tall_enough_and_visible(scene):
    full_r = _renderer(scene, draw_shadows=False, noise=0.0)
    bare_r = _renderer(scene, draw_shadows=False, noise=0.0, draw_numbers=False)
    n, threshold = len(scene.match.people), scene.cfg.readable_min_height
    readable = blurred = blurred_out = 0
    for f, cam in _shots(scene):
        full, bare = full_r.render(cam, f, None), bare_r.render(cam, f, None)
        for fig in full.figures:
            if fig.index >= n or fig.number_side is None:
                continue
            style = scene.match.people[fig.index].number_style
            eff = readable_height(fig.number_height, fig.number_blur, style.legibility)
            blurred += fig.number_blur > 0
            if not fig.number_readable:
                blurred_out += fig.number_blur > 0 and fig.number_height >= threshold and eff < threshold
                continue
            readable += 1
            assert fig.number_height >= threshold and eff >= threshold
            x1, y1, x2, y2 = fig.box
            diff = np.abs(full.image[y1:y2, x1:x2].astype(int)
                          - bare.image[y1:y2, x1:x2].astype(int)).max(2)
            mine = full.label[y1:y2, x1:x2] == fig.index + 1
            assert int(((diff > 40) & mine).sum()) >= 0.1 * fig.number_height ** 2, fig
    assert readable >= 3 and blurred >= 1
    assert blurred_out >= 1  # blur alone made some tall numbers unreadable


def test_patterns_and_numbers_change_colours_not_masks(scene):
    plain_people = [replace(p, kit=Kit(p.shirt) if p.kit else None, number_style=None)
                    for p in scene.match.people]
    plain = replace(scene.match, people=plain_people)
    styled_r = _renderer(scene, optics_blur=0.0)
    plain_r = _renderer(scene, match=plain, optics_blur=0.0)
    plain_r.lens = None  # nobody blurred either
    changed = 0
    for f, cam in list(_shots(scene))[:6]:
        a, b = styled_r.render(cam, f, None), plain_r.render(cam, f, None)
        assert np.array_equal(a.label, b.label)
        assert [(g.index, g.box, g.visible_pixels, g.occlusion) for g in a.figures] == \
               [(g.index, g.box, g.visible_pixels, g.occlusion) for g in b.figures]
        diff = np.abs(a.image.astype(int) - b.image.astype(int)).max(2)
        # Whatever the looks changed lies on the people's pixels, give or take the 2 px an
        # anti-aliased thick line (a sleeve of another colour) reaches past its hard twin.
        near = cv2.dilate((a.label > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert not (diff > 10)[~near].any()
        changed += int((diff > 30).sum())
    assert changed > 500  # the stripes and numbers are there


def test_same_seed_renders_the_same(scene):
    again = Scene(scene.cfg, 1)
    for f, cam in list(_shots(scene))[:4] + [(5, scene.cameras[5])]:
        a = scene.renderer.render(cam, f, None)
        b = again.renderer.render(cam, f, None)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.label, b.label)
        assert a.figures == b.figures
