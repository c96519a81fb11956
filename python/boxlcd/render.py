"""Pictures for people: the LCD upscaled beside a high-resolution render, animated GIFs of them,
and a window to show them in."""
from __future__ import annotations

import os
import sys

import numpy as np

from boxlcd.files import replace_with
from boxlcd.frames import unpack

# Lit LCD pixels are drawn dark on a light background, as on a real LCD.
GAP = 4  # grey columns between the LCD and the render
MIN_FPS, MAX_FPS = 0.01, 1000.0  # a GIF frame lasts 1 ms to 100 s (GIF delays are whole 1/100 s, up to 655 s)
MAX_PICTURE_BYTES = 2 * 2**30  # the pictures of one GIF, all held in memory until it is written


def lcd_picture(packed: np.ndarray, cols: int, scale: int) -> np.ndarray:
    """One packed frame (H, ceil(W/8)) as an (H*scale, W*scale, 3) uint8 picture."""
    bits = unpack(packed, cols=cols)
    grey = (255 - 255 * bits).astype(np.uint8)
    grey = grey.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.repeat(grey[:, :, None], 3, axis=2)


def side_by_side(batch, env: int = 0, scale: int = 8) -> np.ndarray:
    """env's current LCD frame upscaled `scale` times beside an RGB render of equal height
    (what the original testbed's viewer showed). batch: a boxlcd._core.Batch."""
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    rows, cols = batch.frame_shape
    lcd = lcd_picture(batch.frames[env], cols, scale)
    rgb = batch.render_rgb(env, rows * scale, cols * scale)
    gap = np.full((rows * scale, GAP, 3), 128, np.uint8)
    return np.concatenate([lcd, gap, rgb], axis=1)


def check_pictures_fit(count: int, picture_bytes: int, what: str) -> None:
    """A clear error, before any is made, for a GIF whose pictures would not fit in memory (an
    ep_len of 10**8 once ran until the OOM killer came)."""
    need = count * picture_bytes
    if need > MAX_PICTURE_BYTES:
        raise ValueError(f"{what}: {count} pictures of {picture_bytes / 2**10:.0f} KiB are {need / 2**30:.1f} GiB, "
                         f"more than the {MAX_PICTURE_BYTES / 2**30:g} GiB a GIF may take: fewer steps or a "
                         "smaller scale")


def write_gif(path, pictures: list[np.ndarray], fps: float) -> None:
    """An animated GIF, looping, one palette for all frames (small files: the pictures have
    few colours)."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("writing GIFs needs pillow: pip install 'boxlcd[demo]'") from e
    if not pictures:
        raise ValueError("no pictures to write")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not MIN_FPS <= fps <= MAX_FPS:
        raise ValueError(f"fps must be a number in [{MIN_FPS:g}, {MAX_FPS:g}], got {fps!r}")
    # the palette of the first and last pictures together: colours that appear later are kept
    ends = np.concatenate([pictures[0], pictures[-1]]) if pictures[0].shape == pictures[-1].shape else pictures[0]
    palette = Image.fromarray(ends).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = [Image.fromarray(p).quantize(palette=palette, dither=Image.Dither.NONE) for p in pictures]
    replace_with(path, lambda tmp: frames[0].save(tmp, save_all=True, append_images=frames[1:],
                                                  duration=round(1000 / fps), loop=0, optimize=True, disposal=1))


def has_display() -> bool:
    """Whether a window can open: always on macOS and Windows; on Linux, with X11 or Wayland
    (or an SDL driver chosen by hand, e.g. SDL_VIDEODRIVER=dummy for tests)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"))


def import_pygame():
    """pygame, or a clear error saying how to get it or why no window can open."""
    if not has_display():
        raise RuntimeError("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                           "use render_mode='rgb_array' or `boxlcd demo` to write a GIF instead")
    try:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame
    except ImportError as e:
        raise ImportError("a window needs pygame: pip install 'boxlcd[play]'") from e
    return pygame


class Window:
    """A pygame window showing RGB pictures; opened by the first show()."""

    def __init__(self, title: str = "boxlcd"):
        self.pygame = import_pygame()
        self.title = title
        self.screen = None
        self.clock = self.pygame.time.Clock()

    def show(self, picture: np.ndarray, fps: float | None = None) -> None:
        pg = self.pygame
        h, w = picture.shape[:2]
        if self.screen is None or self.screen.get_size() != (w, h):
            pg.init()
            pg.display.set_caption(self.title)
            self.screen = pg.display.set_mode((w, h))
        # pygame surfaces are (width, height): transpose rows and columns.
        pg.surfarray.blit_array(self.screen, np.ascontiguousarray(picture.transpose(1, 0, 2)))
        pg.display.flip()
        pg.event.pump()  # keeps the window responsive when nobody else reads its events
        if fps:
            self.clock.tick(fps)

    def close(self) -> None:
        if self.screen is not None:
            self.pygame.display.quit()
            self.screen = None
