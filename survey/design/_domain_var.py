"""Domain estimates and their design variances without an n x D matrix (the engine of ``by``).

For a domain ``d`` and a column ``y``, the influence of row ``i`` is ``1[g_i = d] r_i`` with
``r_i = a_i w_i (y_i - ybar_d) / W_d`` (mean) or ``a_i w_i y_i`` (total); with calibration its
residual subtracts ``psw_i F[cell_i, d]`` (``F`` from back-fitting cell sums, see
``variance.Calibration``). Per stage the variance needs, per stratum, the total ``S`` and the
centred sum of squares ``SS`` of the units' totals (``variance._stage_var`` applies R's
scaling and lonely-PSU rules):

* stages whose units are clusters: unit-by-domain totals by ``bincount``, centred in two passes;
* rows as units (element sampling): ``S`` by ``bincount`` over (stratum, domain), then the
  squares of the deviations from the stratum mean (second pass); rows outside a domain add
  ``m^2`` each (and, calibrated, ``(psw F + m)^2``, summed per cell);
* binary (0/1) columns without calibration skip the row pass: three weighted counts per
  (unit or stratum, domain, answer) give everything; their sums of squares of bounded values
  are expanded per bin and values below rounding (``SNAP`` of the raw terms) are exactly 0.

Example:
    >>> import numpy as np
    >>> from survey.design.variance import Structure
    >>> col = Column(np.array([1.0, 2.0, 4.0, 5.0]), np.ones(4, bool), False)
    >>> sums, est, var = domain_estimates([col], np.zeros(4, np.int64), 1, np.ones(4),
    ...                                   Structure.simple(4), None, "mean")
    >>> float(est[0, 0]), round(float(var[0, 0]), 6)
    (3.0, 0.833333)
"""

from __future__ import annotations

import numpy as np

from survey.design._layout import SNAP, Column, DomainSums, Layout, buffers, centre_units, cols_sum
from survey.design._structure import Structure
from survey.design.variance import Calibration, _stage_var


def _var_of_r(r: np.ndarray, a: np.ndarray, lay: Layout) -> np.ndarray:
    """Variance (D,) of the domain totals of one influence column ``r`` (n,)."""
    d, d1 = lay.d, lay.d1
    f = None
    if lay.cal is not None:
        s = np.bincount(lay.cell_key, weights=r / lay.psw, minlength=lay.nc * d1)
        f = lay.cal.backfit(s.reshape(lay.nc, d1)[:, :d])  # (C, D)
    total = np.zeros(d)
    for k, sg in enumerate(lay.stages):
        key, size = lay.keys[k], lay.sizes[k]
        nu = sg.n_unit.astype(float)[:, None]
        if sg.unit is not None:
            t = np.bincount(key, weights=r, minlength=size).reshape(-1, d1)[:, :d]
            if f is not None:
                t = t - lay.cal_units(k) @ f
            s_h, ss = centre_units(t, sg)
        else:
            n_h = sg.n_strata
            q1f = 0.0
            if f is not None:  # calibrated residuals of the rows in their own domain
                fe = np.zeros((lay.nc, d1))
                fe[:, :d] = f
                rr = r - lay.psw * fe.ravel()[lay.cell_key]
                q1o, q2o, n_out = lay.cal_rows(k)
                q1f = np.einsum("hcd,cd->hd", q1o, f)
            else:
                rr = r
            s_h = np.bincount(key, weights=rr, minlength=size).reshape(n_h, d1)[:, :d] - q1f
            m = np.zeros((n_h, d1))
            m[:, :d] = s_h / nu
            (dev,) = buffers(len(rr), 1)
            np.take(m.ravel(), key, out=dev)
            np.subtract(rr, dev, out=dev)
            np.multiply(dev, dev, out=dev)
            m = m[:, :d]
            ss = np.bincount(key, weights=dev, minlength=size).reshape(n_h, d1)[:, :d]
            if f is None:
                ss = ss + (nu - lay.counts(k)) * m * m
            else:
                ss = ss + np.einsum("hcd,cd->hd", q2o, f * f) + 2 * m * q1f + n_out * m * m
        total += _stage_var(sg, s_h, np.maximum(ss, 0.0), lay.presence(k, a), lay.st.lonely_psu)
    return total


def _binary(col: Column, lay: Layout, kind: str) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Domain sums, estimate and variance of a 0/1 column from weighted counts per bin."""
    d, d1, w = lay.d, lay.d1, lay.w
    y8 = col.y if col.y.dtype == np.uint8 else col.y.astype(np.uint8)
    full = bool(col.a.all())
    # complete columns without lonely-PSU rules: the bin matrices give the "yes" sums
    bins = full and not (lay.need_pres and any(sg.lonely.any() for sg in lay.stages))
    if bins:
        (yf,) = buffers(len(y8), 1)
        np.copyto(yf, y8)
    else:
        cat = (1 + y8) if full else col.a * (1 + y8)  # 0 invalid, 1 no, 2 yes (uint8)
    var = np.zeros(d)
    for k, sg in enumerate(lay.stages):
        size3 = lay.sizes[k] * 3
        if bins:
            yes = lay.bin_sums(k, yf).reshape(-1, d1)[:, :d]
            tot = lay.bin_wsum(k)
            wb = np.stack([np.zeros_like(yes), tot - yes, yes], axis=2)
            nb = None
        else:
            key3 = np.add(lay.keys3(k), cat, out=lay.ibuf())
            wb = np.bincount(key3, weights=w, minlength=size3).reshape(-1, d1, 3)[:, :d]
            need_n = not full or (lay.need_pres and sg.lonely.any())
            nb = (np.bincount(key3, minlength=size3).reshape(-1, d1, 3)[:, :d].astype(float)
                  if need_n else None)
        if k == 0:
            wsum, num = wb[:, :, 1:].sum((0, 2)), wb[:, :, 2].sum(0)
            nobs = nb[:, :, 1:].sum((0, 2)) if nb is not None else lay.domain()[0][:d]
            with np.errstate(divide="ignore", invalid="ignore"):
                mu = num / wsum
                safe = np.where(wsum > 0, wsum, 1.0)
                dev2 = num * (1 - mu) ** 2 + (wsum - num) * mu * mu
            if kind == "total":
                t = np.stack([np.zeros(d), np.ones(d)], axis=1)
            else:
                t = np.where(wsum[:, None] > 0,
                             np.stack([-mu / safe, (1 - mu) / safe], axis=1), 0.0)
        if sg.unit is not None:
            tu = wb[:, :, 1] * t[:, 0] + wb[:, :, 2] * t[:, 1]
            s_h, ss = centre_units(tu, sg)
            pres = None
            if nb is not None and lay.need_pres and sg.lonely.any():
                pres = cols_sum(sg.unit_stratum, nb[:, :, 1] + nb[:, :, 2], sg.n_strata) > 0
        else:
            nu = sg.n_unit.astype(float)[:, None]
            if bins:
                yes2 = lay.bin_sums(k, yf, squared=True).reshape(-1, d1)[:, :d]
                w2b = np.stack([np.zeros_like(yes2), lay.bin_w2sum(k) - yes2, yes2], axis=2)
            else:
                w2b = np.bincount(key3, weights=lay.w2, minlength=size3
                                  ).reshape(-1, d1, 3)[:, :d]
            s_h = wb[:, :, 1] * t[:, 0] + wb[:, :, 2] * t[:, 1]
            m = s_h / nu
            ss = nu * m * m
            raw = ss.copy()
            for c in (1, 2):
                tc = t[:, c - 1]
                ss = ss + tc * tc * w2b[:, :, c] - 2 * tc * m * wb[:, :, c]
                raw = raw + tc * tc * w2b[:, :, c]
            ss = np.where(ss <= SNAP * raw, 0.0, ss)
            pres = ((nb[:, :, 1] + nb[:, :, 2] > 0) if nb is not None and lay.need_pres
                    and sg.lonely.any() else None)
        var += _stage_var(sg, s_h, ss, pres, lay.st.lonely_psu)
    est = num if kind == "total" else mu
    return (nobs, wsum, num, dev2, est), var


def _binary_calibrated(col: Column, lay: Layout, kind: str
                       ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """:func:`_binary` for a calibrated design whose raking weights are the final weights.

    The residual of row i for domain d is ``u w_i`` in the domain (``u = t[d, answer] -
    F[cell, d]``) and ``-w_i F[cell, d]`` outside; weighted counts per (unit or stratum, cell,
    domain, answer) give the back-fit's cell sums, the unit totals and the squares.
    """
    d, d1, w, nc = lay.d, lay.d1, lay.w, lay.nc
    y8 = col.y if col.y.dtype == np.uint8 else col.y.astype(np.uint8)
    cat = col.a * (1 + y8)
    rows_bins = None
    if lay.stages[0].unit is None:  # element sampling: (stratum, cell) bins give the cells too
        n_h = lay.stages[0].n_strata
        size, shape = n_h * nc * d1 * 3, (n_h, nc, d1, 3)
        key = np.add(lay.hcell_key3(0), cat, out=lay.ibuf())
        rows_bins = [np.bincount(key, weights=wt, minlength=size).reshape(shape)[:, :, :d]
                     for wt in (w, lay.w2, None)]
        wcd, ncd = rows_bins[0].sum(0), rows_bins[2].sum(0)
    else:
        key = np.add(lay.cell_key3(), cat, out=lay.ibuf())
        wcd = np.bincount(key, weights=w, minlength=nc * d1 * 3).reshape(nc, d1, 3)[:, :d]
        ncd = np.bincount(key, minlength=nc * d1 * 3).reshape(nc, d1, 3)[:, :d].astype(float)
    wsum, num = wcd[:, :, 1:].sum((0, 2)), wcd[:, :, 2].sum(0)
    nobs = ncd[:, :, 1:].sum((0, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = num / wsum
        safe = np.where(wsum > 0, wsum, 1.0)
        dev2 = num * (1 - mu) ** 2 + (wsum - num) * mu * mu
    t = np.zeros((d, 3))
    if kind == "total":
        t[:, 2] = 1.0
    else:
        t[:, 1] = np.where(wsum > 0, -mu / safe, 0.0)
        t[:, 2] = np.where(wsum > 0, (1 - mu) / safe, 0.0)
    f = lay.cal.backfit((ncd * t[None, :, :]).sum(2))  # cell sums of r / w: (C, D)
    var = np.zeros(d)
    for k, sg in enumerate(lay.stages):
        pres = lay.presence(k, col.a)
        if sg.unit is not None:
            key = np.add(lay.keys3(k), cat, out=lay.ibuf())
            wb = np.bincount(key, weights=w, minlength=lay.sizes[k] * 3)
            wb = wb.reshape(-1, d1, 3)[:, :d]
            tu = (wb * t[None, :, :]).sum(2) - lay.cal_units(k) @ f
            s_h, ss = centre_units(tu, sg)
        else:
            w1, w2, nn = rows_bins  # stage 1 (only the first stage can have rows as units)
            u = t[None, None, :, :] - f[None, :, :, None]  # (1, C, D, 3)
            q1o, q2o, n_out = lay.cal_rows(k)
            q1f = np.einsum("hcd,cd->hd", q1o, f)
            s_h = (u * w1).sum((1, 3)) - q1f
            m = s_h / sg.n_unit[:, None]
            u2w2 = (u * u * w2).sum((1, 3))
            f2q2 = np.einsum("hcd,cd->hd", q2o, f * f)
            ss = (u2w2 - 2 * m * (u * w1).sum((1, 3)) + nn.sum((1, 3)) * m * m
                  + f2q2 + 2 * m * q1f + n_out * m * m)
            raw = u2w2 + f2q2 + sg.n_unit[:, None] * m * m
            ss = np.where(ss <= SNAP * raw, 0.0, ss)
        var += _stage_var(sg, s_h, np.maximum(ss, 0.0), pres, lay.st.lonely_psu)
    est = num if kind == "total" else mu
    return (nobs, wsum, num, dev2, est), var


def _at_pivot(col: Column, lay: Layout) -> tuple[np.ndarray, ...]:
    """Rows and weights per domain, ``1 / W`` (0 if empty), the pivots (a value of each
    domain) and two work arrays, the first holding ``e = y - pivot`` (a complete column)."""
    d = lay.d
    cnt, wsum_all, first = lay.domain()
    inv = np.where(wsum_all > 0, 1.0 / np.where(wsum_all > 0, wsum_all, 1.0), 0.0)
    pivot = np.append(col.y[first], 0.0)
    e, other = buffers(len(col.y), 2)
    np.take(pivot, lay.gd, out=e, mode="clip")
    np.subtract(col.y, e, out=e)
    return cnt[:d], wsum_all[:d], inv, pivot, e, other


def _numeric_units(col: Column, lay: Layout, kind: str
                   ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """A complete numeric column on a clustered design without calibration: unit sums only.

    With ``e = y - pivot`` (a value of the domain: constants give exactly 0) and
    ``delta = sum w e / W``, the unit total of the mean's influence is
    ``(sum_u w e - delta sum_u w) / W``: one pass of the bin matrix per stage, no row pass.
    """
    d, d1 = lay.d, lay.d1
    cnt, wsum, inv, pivot, e, sq = _at_pivot(col, lay)
    np.multiply(e, e, out=sq)
    t0 = lay.bin_sums(0, e).reshape(-1, d1)
    delta = t0.sum(0) * inv
    mu = pivot + delta
    dev2 = lay.bin_sums(0, sq).reshape(-1, d1).sum(0)[:d]
    dev2 = np.maximum(dev2 - delta[:d] ** 2 * wsum, 0.0)
    if kind == "total":
        num = wsum * pivot[:d] + t0.sum(0)[:d]
        est = num
    else:
        num = wsum * mu[:d]
        est = np.where(wsum > 0, mu[:d], np.nan)
    var = np.zeros(d)
    for k, sg in enumerate(lay.stages):
        t = (t0 if k == 0 else lay.bin_sums(k, e).reshape(-1, d1))[:, :d]
        if kind == "total":  # unit totals of w y
            t = t + pivot[:d] * lay.bin_wsum(k)
        else:  # unit totals of the mean's influence
            t = (t - delta[:d] * lay.bin_wsum(k)) * inv[:d]
        s_h, ss = centre_units(t, sg)
        var += _stage_var(sg, s_h, ss, lay.presence(k, col.a), lay.st.lonely_psu)
    return (cnt, wsum, num, dev2, est), var


def _numeric_rows(col: Column, lay: Layout, kind: str
                  ) -> tuple[tuple[np.ndarray, ...], np.ndarray] | None:
    """A complete numeric column, rows as units, no calibration: bin sums, no row pass.

    Per (stratum, domain) bin the influence ``z = w (y - ybar) / W`` (mean) or ``w y``
    (total) needs ``sum z`` and ``sum z^2``; the stratum's centred sum of squares is
    ``sum z^2 - (sum z)^2 / n_h`` (rows of other domains count as zeros). Values are centred at
    a value of the domain, then at its mean, before squaring. When a bin's centred sum falls
    below ``1e-6`` of its raw sum (influence nearly constant across the stratum, where the
    expansion would lose digits) ``None`` is returned and the caller takes the two-pass path.
    """
    gd, d, d1, y = lay.gd, lay.d, lay.d1, col.y
    cnt, wsum, inv, pivot, e, u = _at_pivot(col, lay)
    delta = lay.bin_sums(0, e).reshape(-1, d1).sum(0) * inv
    mu = pivot + delta
    np.take(delta, gd, out=u, mode="clip")
    np.subtract(e, u, out=u)  # centred at the domain mean
    z = u if kind != "total" else y
    s1 = lay.bin_sums(0, z).reshape(-1, d1)[:, :d]
    np.multiply(u, u, out=e)
    dev2 = lay.bin_sums(0, e).reshape(-1, d1).sum(0)[:d]
    if kind == "total":
        np.multiply(y, y, out=e)
    s2 = lay.bin_sums(0, e, squared=True).reshape(-1, d1)[:, :d]
    if kind != "total":
        s1, s2 = s1 * inv[:d], s2 * inv[:d] ** 2
        num, est = wsum * mu[:d], np.where(wsum > 0, mu[:d], np.nan)
    else:
        num = est = s1.sum(0)
    sg = lay.stages[0]
    nu = sg.n_unit.astype(float)[:, None]
    ss = s2 - s1 * s1 / nu
    if np.any((ss < 1e-6 * s2) & (s2 > 0) & (nu > 1)):
        return None
    var = _stage_var(sg, s1, np.maximum(ss, 0.0), lay.presence(0, col.a), lay.st.lonely_psu)
    return (cnt, wsum, num, dev2, est), var


def _pivot(y: np.ndarray, a: np.ndarray, gd: np.ndarray, d1: int) -> np.ndarray:
    """One valid value of ``y`` per domain (the first), 0 for empty domains."""
    pivot = np.zeros(d1)
    if d1 <= 65:
        ok = a if a.all() else None
        for k in range(d1 - 1):
            m = gd == k if ok is not None else (gd == k) & a
            i = int(np.argmax(m))
            if m[i]:
                pivot[k] = y[i]
        return pivot
    pos = np.flatnonzero(a)[::-1]
    pivot[gd[pos]] = y[pos]
    return pivot


def column_influence(col: Column, lay: Layout, kind: str
                     ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Domain sums (nobs, W, sum w y, dev2, estimate) of one column and its influence per row.

    Influence of row i for its own domain: ``a w (y - ybar) / W`` (mean) or ``a w y`` (total).
    Values are centred in two passes: at one of the domain's own values first (so a constant
    gives exactly 0), then at the mean of those deviations, so ``dev2`` and the influence keep
    their digits whatever the level of ``y``.
    """
    gd, n_dom, d1, w = lay.gd, lay.d, lay.d1, lay.w
    y = col.y.astype(float) if col.binary else col.y
    a = col.a
    full = bool(a.all())
    if full:
        cnt, wsum_all, first = lay.domain()
        nobs, aw = cnt[:n_dom], w
        pivot = np.append(y[first], 0.0)
    else:
        aw = w * a
        nobs = np.bincount(gd, weights=a, minlength=d1)[:n_dom]
        wsum_all = np.bincount(gd, weights=aw, minlength=d1)
        pivot = _pivot(y, a, gd, d1)
    wsum = wsum_all[:n_dom]
    inv = np.where(wsum_all > 0, 1.0 / np.where(wsum_all > 0, wsum_all, 1.0), 0.0)
    inv[n_dom] = 0.0
    e, tmp, r = buffers(len(y), 3)
    np.take(pivot, gd, out=e, mode="clip")
    np.subtract(y, e, out=e)  # centred at a value of the domain
    np.multiply(aw, e, out=tmp)
    delta = np.bincount(gd, weights=tmp, minlength=d1) * inv
    mu = pivot + delta
    np.take(delta, gd, out=tmp, mode="clip")
    np.subtract(e, tmp, out=e)  # centred at the domain mean
    np.multiply(aw, e, out=r)
    np.multiply(r, e, out=tmp)
    dev2 = np.bincount(gd, weights=tmp, minlength=d1)[:n_dom]
    if kind == "total":
        np.multiply(aw, y, out=r)
        if gd.max(initial=0) == n_dom:
            r[gd == n_dom] = 0.0
        num = np.bincount(gd, weights=r, minlength=d1)[:n_dom]
        est = num
    else:
        np.take(inv, gd, out=tmp, mode="clip")
        np.multiply(r, tmp, out=r)  # a w (y - ybar) / W; 0 outside every domain (inv = 0)
        est = np.where(wsum > 0, mu[:n_dom], np.nan)
        num = wsum * mu[:n_dom]
    return (nobs, wsum, num, dev2, est), r


def domain_estimates(cols: list[Column], g: np.ndarray, n_dom: int, w: np.ndarray,
                     st: Structure, cal: Calibration | None, kind: str,
                     layout: Layout | None = None,
                     ) -> tuple[DomainSums, np.ndarray, np.ndarray]:
    """Domain sums, estimates (D, J) and their variances (D, J) for ``kind`` mean or total.

    Rows with ``g = -1`` belong to no domain (outside a subset, or a missing group value).
    ``layout``: the :class:`Layout` of these domains, if the caller keeps one.
    """
    lay = layout if layout is not None else Layout(g, n_dom, w, st, cal)
    out = {k: np.empty((n_dom, len(cols))) for k in ("nobs", "wsum", "num", "dev2", "est",
                                                     "var")}
    binned_cal = cal is not None and cal.same_weights(w)
    units_only = all(sg.unit is not None for sg in lay.stages)
    rows_only = (cal is None and len(lay.stages) == 1 and lay.stages[0].unit is None)
    for j, col in enumerate(cols):
        if col.binary and cal is None:
            sums, var = _binary(col, lay, kind)
        elif col.binary and binned_cal:
            sums, var = _binary_calibrated(col, lay, kind)
        elif cal is None and units_only and col.a.all():
            sums, var = _numeric_units(col, lay, kind)
        elif rows_only and col.a.all() and (fast := _numeric_rows(col, lay, kind)) is not None:
            sums, var = fast
        else:
            sums, r = column_influence(col, lay, kind)
            var = _var_of_r(r, col.a, lay)
        for name, v in zip(("nobs", "wsum", "num", "dev2", "est"), sums, strict=True):
            out[name][:, j] = v
        out["var"][:, j] = var
    return DomainSums(out["nobs"], out["wsum"], out["num"], out["dev2"]), out["est"], out["var"]


def domain_var(r: np.ndarray, g: np.ndarray, n_dom: int, w: np.ndarray, st: Structure,
               cal: Calibration | None, a: np.ndarray | None = None) -> np.ndarray:
    """Variances (D, J) of domain totals of the influence columns ``r`` (n, J).

    ``r[i, j]`` is row i's influence for its own domain ``g[i]`` (0 outside every domain);
    ``a`` (n, J) marks the rows in each column's domain (for the lonely-PSU rules "adjust"
    and "average"; default: all rows of a domain).
    """
    lay = Layout(g, n_dom, w, st, cal)
    r = np.asarray(r, float).reshape(st.n, -1)
    inside = (g >= 0).astype(float)
    return np.stack([_var_of_r(r[:, j], inside if a is None else a[:, j] * inside, lay)
                     for j in range(r.shape[1])], axis=1)
