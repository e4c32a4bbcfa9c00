"""The weight chart, drawn on the server as SVG: no JavaScript, readable by screen readers.

The template gives the chart a <title> and a <desc> and follows it with the same figures as a
table, so the numbers are there for anyone the drawing does not serve.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from records.models import Weight

WIDTH, HEIGHT = 600, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 40


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    weight: Weight


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # the edge labels are anchored inwards so they are never clipped


@dataclass(frozen=True)
class WeightChart:
    width: int
    height: int
    points: tuple[Point, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    low: Decimal
    high: Decimal

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)

    @property
    def first(self) -> Weight:
        return self.points[0].weight

    @property
    def last(self) -> Weight:
        return self.points[-1].weight

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM


def weight_chart(weights: Sequence[Weight]) -> WeightChart | None:
    """Dates spread by real time on x, kilograms on y with a little headroom; None if empty."""
    if not weights:
        return None
    low = min(weight.kg for weight in weights)
    high = max(weight.kg for weight in weights)
    pad = max((high - low) * Decimal("0.15"), Decimal("0.5"))
    bottom_kg, top_kg = max(low - pad, Decimal(0)), high + pad
    first_day = weights[0].date.toordinal()
    span_days = max(weights[-1].date.toordinal() - first_day, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(weight: Weight) -> float:
        if len(weights) == 1:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (weight.date.toordinal() - first_day) / span_days

    def y_of(kg: Decimal) -> float:
        return TOP + plot_h * float((top_kg - kg) / (top_kg - bottom_kg))

    points = tuple(Point(x_of(weight), y_of(weight.kg), weight) for weight in weights)
    y_ticks = tuple(
        Tick(y_of(value), f"{value:.1f}")
        for value in (bottom_kg + (top_kg - bottom_kg) * step / 4 for step in range(5))
    )
    # At most 4 date labels, spread over the points, so they never overlap on a phone.
    stride = max(1, (len(points) + 3) // 4)
    chosen = list(points[::stride])
    if chosen[-1] is not points[-1]:
        chosen[-1] = points[-1]
    anchors = {0: "start", len(chosen) - 1: "end"} if len(chosen) > 1 else {}
    x_ticks = tuple(
        Tick(point.x, point.weight.date.strftime("%m/%Y"), anchors.get(index, "middle"))
        for index, point in enumerate(chosen)
    )
    return WeightChart(WIDTH, HEIGHT, points, y_ticks, x_ticks, low, high)
