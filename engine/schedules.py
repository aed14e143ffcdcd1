"""Learning-rate schedules as a factor of the base rate, a function of progress in epochs.

``progress`` is measured in epochs (1.5 = halfway through the second epoch), so a schedule
stays smooth when the batch size changes mid-run. With ``warmup`` epochs the factor rises
linearly from 0 and the schedule starts after the warm-up.
"""

from __future__ import annotations

import math

from engine.config import SCHEDULES

#: Decimal places ``progress`` and ``warmup`` are rounded to before a boundary is found. A
#: step is at least 1/60,000 of an epoch, far coarser, so two steps never round together;
#: without it 4.1 − 0.1 epochs is 3.9999999999999996 and a step decay or the end of a
#: warm-up came one batch late.
BOUNDARY_PLACES = 9


def lr_factor(
    schedule: str,
    progress: float,
    total_epochs: float,
    *,
    warmup: float = 0.0,
    step_epochs: int = 3,
    gamma: float = 0.5,
    restart: float = 0.0,
) -> float:
    """Factor in [0, 1] to multiply the base learning rate by at ``progress`` epochs.

    With ``restart`` > 0 the run is two schedules back to back: the first over ``restart``
    epochs, the second, warm-up included, from ``restart`` over the remaining epochs (as
    if a run of ``total_epochs − restart`` epochs began there). A constant schedule has
    nothing to restart and ignores it (the form hides the field then).

    - constant: 1
    - step: gamma ** floor(t / step_epochs)
    - exponential: gamma ** t (smooth, so gamma is the factor per epoch)
    - cosine: (1 + cos(π · t / T)) / 2, which would reach 0 at t = T: the last step of a
      run starts just before the end, so its factor is small but above 0
    where t = progress − warmup and T = total_epochs − warmup. Boundaries (the end of the
    warm-up, each step decay) are found on values rounded to BOUNDARY_PLACES, so they fall
    on the step the formula names, not one batch late through float rounding.
    """
    if restart > 0 and schedule != "constant":
        restart = round(restart, BOUNDARY_PLACES)
        before = round(progress, BOUNDARY_PLACES) < restart
        return lr_factor(schedule, progress if before else progress - restart,
                         restart if before else total_epochs - restart, warmup=warmup,
                         step_epochs=step_epochs, gamma=gamma)
    progress, warmup = round(progress, BOUNDARY_PLACES), round(warmup, BOUNDARY_PLACES)
    if warmup > 0 and progress < warmup:
        return max(progress, 0.0) / warmup
    t = max(round(progress - warmup, BOUNDARY_PLACES), 0.0)
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return gamma ** math.floor(t / step_epochs)
    if schedule == "exponential":
        return gamma**t
    if schedule == "cosine":
        span = max(total_epochs - warmup, 1e-12)
        return 0.5 * (1.0 + math.cos(math.pi * min(t / span, 1.0)))
    raise ValueError(f"schedule: {schedule} is not valid; expected one of {', '.join(SCHEDULES)}")
