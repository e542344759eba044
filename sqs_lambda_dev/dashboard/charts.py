"""Server-side SVG charts: no script, no library. Numbers only go into the markup (no text from a message)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup


def bars(done: Sequence[int], failed: Sequence[int], *, width: int = 120, height: int = 28) -> Markup:
    """A small bar chart, one bar per bucket: done (green) stacked under failed (red)."""
    peak = max([d + f for d, f in zip(done, failed, strict=True)] + [1])
    step = width / max(len(done), 1)
    parts = [
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="last hour: {sum(done)} done, {sum(failed)} failed">'
    ]
    for index, (ok, bad) in enumerate(zip(done, failed, strict=True)):
        x = index * step + 1
        ok_height = height * ok / peak
        bad_height = height * bad / peak
        if ok:
            parts.append(
                f'<rect class="done" x="{x:.1f}" y="{height - ok_height:.1f}" width="{step - 2:.1f}" '
                f'height="{ok_height:.1f}"/>'
            )
        if bad:
            parts.append(
                f'<rect class="failed" x="{x:.1f}" y="{height - ok_height - bad_height:.1f}" '
                f'width="{step - 2:.1f}" height="{bad_height:.1f}"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
