"""Frame layout, the original testbed's look, sizes, scrolling and RGB pictures."""
import numpy as np
import pytest

import boxlcd


def box_at(x, y, raster="original"):
    """A Dropbox frame with its 0.7 m box, unrotated, centred at (x, y) metres."""
    env = boxlcd.make("Dropbox", raster=raster)
    state = np.array([[1.0, 0.0, 2 * x / 5 - 1, 2 * y / 5 - 1]], np.float32)  # cos, sin, x:p, y:p
    obs = env.reset(full_state=state)
    return np.unpackbits(obs["lcd"][0], axis=-1, count=16)


def expected(rows, cols):
    f = np.zeros((16, 16), np.uint8)
    f[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = 1
    return f


def test_box_at_known_spot_original_rule():
    # 3.2 px/m: the box spans 5.76..10.24 px; PIL truncates to 5..10 and fills both ends.
    # y-up rows 5..10 are rows 10..5 counted from the top of a 16-row frame.
    np.testing.assert_array_equal(box_at(2.5, 2.5), expected((5, 10), (5, 10)))


def test_box_at_known_spot_area_rule():
    # Pixel centres 6.5..9.5 lie inside 5.76..10.24.
    np.testing.assert_array_equal(box_at(2.5, 2.5, "area"), expected((6, 9), (6, 9)))


def test_box_near_top_left_corner_is_clipped():
    # Centre (0.3, 4.7): the box hangs over the top-left corner of the frame.
    f = box_at(0.3, 4.7, "area")
    assert f[0, 0] == 1 and f[:, 8:].sum() == 0 and f[8:, :].sum() == 0


def test_packed_layout_is_numpy_packbits():
    env = boxlcd.make("Object3", num_envs=16, seed=5)
    frames = env.reset()["lcd"]
    bits = np.unpackbits(frames, axis=-1, count=16)
    np.testing.assert_array_equal(np.packbits(bits, axis=-1), frames)


@pytest.mark.parametrize("lcd_base,wh_ratio", [(8, 1.0), (10, 2.0), (16, 1.5), (13, 1.0), (512, 2.0)])
def test_sizes_and_zero_padding(lcd_base, wh_ratio):
    env = boxlcd.make("UrchinCubes", num_envs=3, lcd_base=lcd_base, wh_ratio=wh_ratio, seed=2)
    rows, cols = env.frame_shape
    assert (rows, cols) == (lcd_base, round(lcd_base * wh_ratio))
    obs = env.reset()
    assert obs["lcd"].shape == (3, rows, (cols + 7) // 8)
    bits = np.unpackbits(obs["lcd"], axis=-1)
    assert bits.any(axis=(1, 2)).all()
    assert not bits[..., cols:].any(), "padding bits past the last column must stay 0"


def test_original_look_matches_reference_frames(original_frames):
    for name in ("Dropbox", "Urchin"):
        states = original_frames[f"{name}/full_state"]
        frames = original_frames[f"{name}/frames"]
        states = states.reshape(-1, states.shape[-1])
        frames = frames.reshape(-1, *frames.shape[-2:])
        env = boxlcd.make(name, num_envs=len(states))
        ours = np.unpackbits(env.reset(full_state=states)["lcd"], axis=-1)
        theirs = np.unpackbits(frames, axis=-1)
        agreement = (ours == theirs).mean()
        assert agreement >= 0.995, f"{name}: {agreement:.4f} of pixels agree with the original testbed"
        # The original rule follows Pillow's fill exactly: every reference frame matches.
        exact = (ours == theirs).all(axis=(1, 2)).mean()
        assert exact == 1.0, f"{name}: {exact:.3f} of frames match exactly"


def test_original_rule_matches_pillow_on_random_shapes():
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    mismatched = 0
    env = boxlcd.make("Dropbox")  # a 0.7 m box: 4.48 px across at 3.2 px/m
    for _ in range(300):
        x, y, a = rng.uniform(0.5, 4.5), rng.uniform(0.5, 4.5), rng.uniform(-np.pi, np.pi)
        state = np.array([[np.cos(a), np.sin(a), 2 * x / 5 - 1, 2 * y / 5 - 1]], np.float32)
        ours = np.unpackbits(env.reset(full_state=state)["lcd"][0], axis=-1)
        # The same box drawn by PIL from the body's float32 corners, y up, then flipped.
        c, s = np.float32(np.cos(a)), np.float32(np.sin(a))
        px, py = np.float32((state[0, 2] + 1) / 2 * 5), np.float32((state[0, 3] + 1) / 2 * 5)
        corners = [(-0.7, -0.7), (0.7, -0.7), (0.7, 0.7), (-0.7, 0.7)]
        xy = [(float(px + c * np.float32(u) - s * np.float32(v)) * 3.2,
               float(py + s * np.float32(u) + c * np.float32(v)) * 3.2) for u, v in corners]
        image = Image.new("1", (16, 16), 0)
        ImageDraw.Draw(image).polygon(xy, fill=1)
        mismatched += int((np.flipud(np.array(image)).astype(np.uint8) != ours).sum() > 0)
    assert mismatched <= 3, f"{mismatched} of 300 boxes differ from Pillow's drawing"


def test_lit_fraction_near_the_original_testbeds_statistics():
    # The spec's mean background fractions under random actions: Dropbox 0.896, Bounce 0.948,
    # Urchin 0.962 (so lit 0.104, 0.052, 0.038).
    for name, lit in (("Dropbox", 0.104), ("Bounce", 0.052), ("Urchin", 0.038)):
        env = boxlcd.make(name, num_envs=64, seed=0)
        rng = np.random.default_rng(0)
        total = []
        for _ in range(env.definition.ep_len):
            obs, *_ = env.step(rng.uniform(-1, 1, (64, env.action_size)).astype(np.float32))
            total.append(np.unpackbits(obs["lcd"], axis=-1).mean())
        assert abs(np.mean(total) - lit) < 0.25 * lit, (name, np.mean(total))


def test_walls_off_scrolls_with_the_robot():
    env = boxlcd.make("Urchin", num_envs=8, walls=False, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(60):
        obs, *_ = env.step(rng.uniform(-1, 1, (8, 3)).astype(np.float32))
    cols = np.unpackbits(obs["lcd"], axis=-1).sum(axis=1)  # (N, W) lit per column
    centre = (cols * np.arange(32)).sum(axis=1) / cols.sum(axis=1)
    assert np.all(np.abs(centre - 15.5) < 4), centre


def test_rgb_picture_colours():
    env = boxlcd.make("UrchinCube", seed=0)
    picture = env.render_rgb(0, 160, 240)
    assert picture.shape == (160, 240, 3) and picture.dtype == np.uint8
    colours = {tuple(int(v) for v in c) for c in picture.reshape(-1, 3)}
    reddish = [c for c in colours if c[0] > c[2] + 60]
    bluish = [c for c in colours if c[2] > c[0] + 60]
    assert reddish and bluish, colours
    with pytest.raises(ValueError, match="env index"):
        env.render_rgb(1)
