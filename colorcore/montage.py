"""A comparison picture in the style of the seed's Figures 4-5: one column per source, one row per photo."""
from __future__ import annotations

from pathlib import Path

from .data import DataError, list_images, load_rgb


def montage(columns: dict[str, Path], output: Path, rows: int = 6) -> Path:
    """Write a PNG grid: ``columns`` maps a title to a folder; rows are the first names common to all."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    listings = {title: {p.relative_to(folder).with_suffix("").as_posix(): p for p in list_images(folder)}
                for title, folder in columns.items()}
    common = sorted(set.intersection(*(set(v) for v in listings.values())))[:rows]
    if not common:
        raise DataError("the folders have no image name in common")
    fig, axes = plt.subplots(len(common), len(columns), figsize=(2.2 * len(columns), 2.2 * len(common)), squeeze=False)
    for r, name in enumerate(common):
        for c, (title, files) in enumerate(listings.items()):
            ax = axes[r][c]
            ax.imshow(load_rgb(files[name]))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=11)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=60)
    plt.close(fig)
    return output
