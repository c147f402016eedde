"""Where a 2-D latent map is empty: distances to the training codes, in the codes' own units.

Latent scales differ between models (an autoencoder's codes spread over tens of units, a VAE's
over a few), so distances are expressed in *spacings*: the median distance from a training code to
its nearest other training code. A point is *far* (no training code near it) when its distance to
the nearest training code is larger than that of 99% of the test images' codes: the threshold is
fixed by held-out data of the same model, not chosen by hand. Nearest neighbours in two
dimensions are a k-d tree's job (``scipy.spatial.cKDTree``, on the host).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial import ConvexHull, Delaunay, cKDTree

from jaxvae.latent import grid_points

FAR_QUANTILE = 99.0


class CodeMap(NamedTuple):
    """The training codes of one model, indexed for nearest-neighbour queries."""

    tree: cKDTree
    spacing: float  # median nearest-neighbour distance between training codes
    far: float  # the FAR_QUANTILE percentile of the test codes' distances, in spacings


def code_map(train_codes: np.ndarray, test_codes: np.ndarray) -> CodeMap:
    """Index ``train_codes`` [N, 2] and fix the "far" threshold from ``test_codes`` [M, 2]."""
    tree = cKDTree(train_codes)
    neighbour = tree.query(train_codes, k=2)[0][:, 1]
    spacing = float(np.median(neighbour[neighbour > 0])) if np.any(neighbour > 0) else 1.0
    test_distance = tree.query(test_codes, k=1)[0] / spacing
    return CodeMap(tree, spacing, float(np.percentile(test_distance, FAR_QUANTILE)))


def distance_in_spacings(codes: CodeMap, points: np.ndarray) -> np.ndarray:
    """Distance from each of ``points`` [..., 2] to the nearest training code, in spacings."""
    flat = np.asarray(points, np.float64).reshape(-1, 2)
    return (codes.tree.query(flat, k=1)[0] / codes.spacing).reshape(np.shape(points)[:-1])


def far_share(codes: CodeMap, points: np.ndarray) -> float:
    """The share of ``points`` [N, 2] that land where no training code is near."""
    return float(np.mean(distance_in_spacings(codes, points) > codes.far))


Box = tuple[tuple[float, float], tuple[float, float]]


def between_clusters(train_codes: np.ndarray, box: Box) -> Delaunay:
    """The convex hull of the training codes inside ``box``: a point inside it lies between the
    clusters, not beyond all of them (``hull.find_simplex(points) >= 0``). Triangulated from the
    hull's corners alone: the same region as a triangulation of every code, and a point is located
    in it at once (among 60,000 codes, finding the simplex took seconds per call)."""
    (x0, x1), (y0, y1) = box
    inside = (train_codes[:, 0] >= x0) & (train_codes[:, 0] <= x1)
    inside &= (train_codes[:, 1] >= y0) & (train_codes[:, 1] <= y1)
    points = train_codes[inside]
    return Delaunay(points[ConvexHull(points).vertices])


def outline(hull: Delaunay) -> np.ndarray:
    """The corners of ``hull`` in order [K, 2], for drawing."""
    return hull.points[ConvexHull(hull.points).vertices]


def inside(hull: Delaunay, points: np.ndarray) -> np.ndarray:
    """Whether each of ``points`` [..., 2] lies inside ``hull``."""
    flat = np.asarray(points, np.float64).reshape(-1, 2)
    return (hull.find_simplex(flat) >= 0).reshape(np.shape(points)[:-1])


def largest_empty_regions(
    codes: CodeMap, box: Box, count: int = 6, size: int = 200, hull: Delaunay | None = None
) -> list[dict[str, float]]:
    """The centres and radii (in latent units and spacings) of the ``count`` largest empty discs
    centred inside ``box`` (and inside ``hull``, if given), found greedily on a ``size`` x ``size``
    grid: the grid point farthest from every training code, then the farthest outside the discs
    already taken, and so on."""
    grid = grid_points(box[0], box[1], size).reshape(-1, 2)
    if hull is not None:
        grid = grid[inside(hull, grid)]
    distance = codes.tree.query(grid, k=1)[0]
    taken = np.zeros(len(grid), bool)
    regions: list[dict[str, float]] = []
    for _ in range(count if len(grid) else 0):
        open_distance = np.where(taken, -1.0, distance)
        best = int(np.argmax(open_distance))
        if open_distance[best] <= 0:
            break
        centre, radius = grid[best], float(distance[best])
        regions.append(
            {
                "x": float(centre[0]),
                "y": float(centre[1]),
                "radius": radius,
                "spacings": radius / codes.spacing,
            }
        )
        taken |= np.linalg.norm(grid - centre, axis=1) < radius + distance
    return regions


def acceptance_by_distance(
    distance: np.ndarray, accepted: np.ndarray, edges: np.ndarray, *, realistic: np.ndarray | None = None
) -> dict[str, list[float | int | None]]:
    """The share of ``accepted`` decodes (and, when given, of ``realistic`` ones) among the points
    whose ``distance`` (spacings) falls in each bin of ``edges``, with the bin's count; ``None`` for
    an empty bin."""
    distance = np.ravel(distance)
    index = np.digitize(distance, edges) - 1
    bins = [index == i for i in range(len(edges) - 1)]

    def share(flags: np.ndarray) -> list[float | int | None]:
        flags = np.ravel(flags)
        return [float(flags[inside].mean()) if inside.any() else None for inside in bins]

    out: dict[str, list[float | int | None]] = {
        "edges": [float(e) for e in edges],
        "accepted": share(accepted),
    }
    if realistic is not None:
        out["realistic"] = share(realistic)
    return out | {"count": [int(inside.sum()) for inside in bins]}


DISTANCE_EDGES = np.array([0.0, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, np.inf])
