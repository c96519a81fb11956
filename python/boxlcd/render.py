"""Pictures for people: the LCD upscaled beside a high-resolution render, and a window for them."""
from __future__ import annotations

import os
import sys

import numpy as np

from boxlcd.frames import unpack

# Lit LCD pixels are drawn dark on a light background, as on a real LCD.
GAP = 4  # grey columns between the LCD and the render


def lcd_picture(packed: np.ndarray, cols: int, scale: int) -> np.ndarray:
    """One packed frame (H, ceil(W/8)) as an (H*scale, W*scale, 3) uint8 picture."""
    bits = unpack(packed, cols=cols)
    grey = (255 - 255 * bits).astype(np.uint8)
    grey = grey.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.repeat(grey[:, :, None], 3, axis=2)


def side_by_side(batch, env: int = 0, scale: int = 8) -> np.ndarray:
    """env's current LCD frame upscaled `scale` times beside an RGB render of equal height
    (what the seed testbed's viewer showed). batch: a boxlcd._core.Batch."""
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    rows, cols = batch.frame_shape
    lcd = lcd_picture(batch.frames[env], cols, scale)
    rgb = batch.render_rgb(env, rows * scale, cols * scale)
    gap = np.full((rows * scale, GAP, 3), 128, np.uint8)
    return np.concatenate([lcd, gap, rgb], axis=1)


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
