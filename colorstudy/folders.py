"""Matching the systems' folders by image name: what every study needs before a stimulus is made,
and the one-line explanations of what does not match."""
from __future__ import annotations

from pathlib import Path


def unmatched_names(listing: dict[str, dict[str, Path]], common: list[str], show: int = 3) -> list[str]:
    """One line per system whose images are not all in the study because another system lacks their names."""
    kept = set(common)
    notes = []
    for name, files in listing.items():
        dropped = sorted(set(files) - kept)
        if dropped:
            more = f" and {len(dropped) - show} more" if len(dropped) > show else ""
            notes.append(f"system {name!r}: {len(dropped)} of {len(files)} images left out, their names missing from "
                         f"another system's folder: {', '.join(dropped[:show])}{more}")
    return notes


def ground_truth_mismatch(common: list[str], truth: dict[str, Path]) -> str | None:
    """Why the real photos do not match the study's image names, or None when every name has its photo.

    Names are paths relative to each folder: a ground truth in ``Person/`` subfolders beside flat
    system folders matches nothing, and the message says so.
    """
    missing = [name for name in common if name not in truth]
    if not missing:
        return None
    base_of_truth = {Path(k).name: k for k in truth}
    base_of_common = {Path(k).name: k for k in common}
    layout = ""
    example = next((n for n in missing if Path(n).name in base_of_truth), None)
    if example is not None:
        layout = (f"; the same files are there under other folders (the systems' {example!r} is "
                  f"{base_of_truth[Path(example).name]!r} in the ground truth): give both the same layout")
    elif any(Path(k).name in base_of_common for k in truth):
        layout = "; the folder layouts differ: give both the same layout"
    return (f"--ground-truth: {len(missing)} of {len(common)} study images have no real photo of the same name "
            f"(e.g. {missing[0]!r}){layout}")
