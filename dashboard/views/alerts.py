"""Alerts: what fires now (live, firing first), acknowledge and silence, the rules, and today's budget burn."""

from __future__ import annotations

import html
import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from agentdeck.dashboard import alert_banner, components, data, theme

st.title("Alerts")

SEVERITY_ICONS = {"critical": ":red[:material/error:]", "warning": ":orange[:material/warning:]"}
SILENCE_CHOICES = {"15m": "15 minutes", "1h": "1 hour", "4h": "4 hours", "1d": "1 day"}
PAGE_SIZE = 25  # open alerts shown as cards per page: those needing attention first, worst and newest first
MAX_TRACE_LINKS = 3
MAX_TASKS_LISTED = 50  # a per-task alert's tasks listed under its card
DAY_NS = 86_400 * 10**9
HOUR_NS = 3_600 * 10**9
BURN_BUCKETS = 96  # today's spend in quarter hours


def ago(ns: float | None) -> str:
    if ns is None or pd.isna(ns):
        return "n/a"
    s = max(0.0, (time.time_ns() - float(ns)) / 1e9)
    text = f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"
    return f"{theme.timestamp(ns)} ({text} ago)"


def links(alert: pd.Series) -> None:
    """Links to the traces behind the alert (worst first), its agent, and Replay of the worst trace."""
    traces = list(alert["trace_ids"])[:MAX_TRACE_LINKS]
    row = st.container(horizontal=True, gap="small")
    for trace_id in traces:
        row.page_link(components.TRACES_PAGE, label=f"Trace {theme.short_id(trace_id)}", icon=":material/timeline:",
                      query_params={"trace_id": trace_id})  # fmt: skip
    scope = str(alert["scope"])
    if scope == "each agent" or scope.startswith("agent="):
        agent = alert["group_value"] or scope.removeprefix("agent=")
        row.page_link("views/agents.py", label=f"Agent {components.inert(agent)}", icon=":material/smart_toy:",
                      query_params={"agent": agent})  # fmt: skip
    if traces:
        row.page_link(components.REPLAY_PAGE, label="Replay", icon=":material/history:",
                      query_params={"trace_id": traces[0]})  # fmt: skip


def covered_tasks(alert: pd.Series) -> None:
    """The tasks a per-task check's alert covers beyond the first links, each a link to its trace."""
    traces = list(alert["trace_ids"])
    if len(traces) <= MAX_TRACE_LINKS:
        return
    with st.expander(f"All {len(traces)} tasks of this alert (worst first)"):
        shown = traces[:MAX_TASKS_LISTED]
        st.markdown(" · ".join(f"[{theme.short_id(t, 12)}](traces?trace_id={t})" for t in shown))
        if len(traces) > len(shown):
            st.caption(f"and {len(traces) - len(shown)} more (GET /api/alerts/{int(alert['id'])} lists them all)")


CHANGED = "_alerts_changed"  # session flag: an alert was acknowledged or silenced in this session


def _acknowledge(alert_id: int) -> None:
    try:
        data.acknowledge_alert(alert_id)
        st.session_state[CHANGED] = True
    except data.DataError as exc:
        st.toast(f"{exc.message} {exc.hint}", icon=":material/error:")


def _silence(alert_id: int) -> None:
    try:
        data.silence_alert(alert_id, st.session_state[f"silence_for_{alert_id}"])
        st.session_state[CHANGED] = True
    except data.DataError as exc:
        st.toast(f"{exc.message} {exc.hint}", icon=":material/error:")


def actions(alert: pd.Series) -> None:
    """Acknowledge and silence act in button callbacks, so the alerts re-read afterwards show the change."""
    alert_id = int(alert["id"])
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    if alert["acknowledged"]:
        row.caption(":material/done_all: acknowledged")
    else:
        row.button("Acknowledge", key=f"ack_{alert_id}", icon=":material/done:", on_click=_acknowledge,
                   args=(alert_id,))  # fmt: skip
    row.selectbox("Silence for", list(SILENCE_CHOICES), format_func=SILENCE_CHOICES.__getitem__,
                  key=f"silence_for_{alert_id}", label_visibility="collapsed", width=140)  # fmt: skip
    row.button("Silence", key=f"silence_{alert_id}", icon=":material/notifications_off:", on_click=_silence,
               args=(alert_id,))  # fmt: skip


def alert_card(alert: pd.Series) -> None:
    icon = SEVERITY_ICONS.get(str(alert["severity"]), ":blue[:material/info:]")
    muted = " · :gray[silenced until " + theme.timestamp(alert["silenced_until_ns"]) + "]" if alert["silenced"] else ""
    with st.container(border=True, key=f"alert_{int(alert['id'])}"):
        st.markdown(
            f"{icon} **{alert['rule']}** · {alert['severity']} · {alert['state']} · "
            f"{components.inert(alert['target'])}{muted}"
        )
        metric = str(alert["metric"])
        since = "pending since" if alert["state"] == "pending" else "since"
        st.markdown(
            f"Value **{alert_banner.alert_value(metric, alert['value'])}** {alert['comparison']} threshold "
            f"{alert_banner.alert_value(metric, alert['threshold'])} · {since} {ago(alert_banner.started_ns(alert))}"
        )
        if isinstance(alert["detail"], str) and alert["detail"]:
            detail = alert["detail"] if len(alert["trace_ids"]) <= 1 else f"Worst task: {alert['detail']}"
            st.caption(components.inert(detail))
        left, right = st.columns([1, 1], vertical_alignment="center")
        with left:
            links(alert)
        with right:
            actions(alert)
        covered_tasks(alert)


def open_alerts() -> None:
    frame = data.alerts()
    active = frame[frame["state"].isin(["firing", "pending"])] if not frame.empty else frame
    attention = alert_banner.needing_attention(active)
    st.subheader(f"Firing now: {int((attention['state'] == 'firing').sum()) if not attention.empty else 0}")
    if active.empty:
        st.success(
            "No alert is firing. The collector checks the rules below continuously; per-task budget and loop "
            "checks run within seconds of a task's spans arriving.",
            icon=":material/check_circle:",
        )
    else:
        # acknowledged or silenced ones after the others, each part in the collector's order (firing first)
        dealt = active["acknowledged"].astype(bool) | active["silenced"].astype(bool)
        if dealt.any():
            st.caption(f"{int(dealt.sum())} open alert(s) acknowledged or silenced are listed after the others.")
        ordered = active.assign(_dealt=dealt).sort_values("_dealt", kind="stable")
        pages = max(1, -(-len(ordered) // PAGE_SIZE))
        page = 1
        if pages > 1:
            page = int(st.number_input(f"Page (of {pages}, {PAGE_SIZE} alerts each)", min_value=1, max_value=pages,
                                       value=1, step=1, key="alerts_page", width=220))  # fmt: skip
        for _, alert in ordered.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].iterrows():
            alert_card(alert)
        if int(frame.attrs.get("total", len(frame))) > len(frame):
            st.caption(
                f"Showing the first {len(frame)} of {frame.attrs['total']} alerts; "
                "`agentdeck alerts list` (or GET /api/alerts with offset) pages through the rest."
            )
    resolved = frame[frame["state"] == "resolved"] if not frame.empty else frame
    with st.expander(f"Resolved ({len(resolved)})"):
        if resolved.empty:
            st.caption("Nothing has resolved yet.")
        else:
            components.table(
                pd.DataFrame(
                    {
                        "Rule": resolved["rule"],
                        "Target": resolved["target"],
                        "Severity": resolved["severity"],
                        "Fired": [theme.timestamp(v) for v in resolved["fired_ns"]],
                        "Resolved": [theme.timestamp(v) for v in resolved["resolved_ns"]],
                    }
                ),
                pinned="Rule",
            )


def cumulative_spend(series: pd.DataFrame, start_ns: int, end_ns: int, buckets: int) -> dict[str, pd.Series]:
    """Per workflow (biggest first), its spend since `start_ns` summed up to the end of each of the
    `buckets` buckets of the `timeseries` answer (0 before its first call, flat after its last),
    indexed by instant (ns, at most `end_ns`), starting at 0 at `start_ns`."""
    step = -(-(end_ns - start_ns) // buckets)  # the collector's bucket width
    grid = [start_ns + i * step for i in range(buckets)]
    table = series.pivot_table(index="bucket_start_ns", columns="group", values="value", aggfunc="sum")
    table = table.reindex(sorted(set(grid) | set(table.index.astype(int)))).fillna(0.0).cumsum()
    table.index = [min(int(t) + step, end_ns) for t in table.index]  # spent by the end of each bucket
    start = pd.DataFrame(0.0, index=[start_ns], columns=table.columns)
    table = pd.concat([start, table])
    order = table.iloc[-1].sort_values(ascending=False).index
    return {str(name): table[name] for name in order}


def burn_down(budget: float | None) -> None:
    """Cumulative spend since UTC midnight per workflow, the total's projection to midnight, the budget."""
    now = time.time_ns()
    midnight = now - now % DAY_NS
    st.subheader("Budget burn-down (today, UTC)")
    series = data.query(
        "timeseries",
        {"metric": "spend", "group_by": "workflow", "start_ns": midnight, "end_ns": now, "buckets": BURN_BUCKETS},
    )
    if series.empty:
        components.empty_state(
            "No spend today yet",
            "The chart fills in as LLM calls with a cost arrive. Set the daily budget with a `budget_burn` "
            "rule in the rules file.",
        )
        return
    series = series.sort_values("bucket_start_ns")
    last_hour = series[series["bucket_start_ns"] >= now - HOUR_NS].groupby("group")["value"].sum()
    spent = series.groupby("group")["value"].sum()
    left_h = (midnight + DAY_NS - now) / HOUR_NS
    fig = go.Figure()
    stacked = cumulative_spend(series, midnight, now, BURN_BUCKETS)
    colors = theme.distinct_colors("workflow", list(stacked))
    for name, cumulative in stacked.items():
        # every workflow on the same instants, so the stack adds up; steps, not slopes: spend rises when
        # calls land and stays flat over hours without any
        fig.add_scatter(x=pd.to_datetime(cumulative.index // 1000, unit="us", utc=True), y=cumulative.tolist(),
                        name=html.escape(str(name), quote=False), stackgroup="spend", mode="lines",
                        line={"shape": "hv"}, fillcolor=colors[name], line_color=colors[name])  # fmt: skip
    total, total_rate = float(spent.sum()), float(last_hour.sum())
    projected = total + total_rate * left_h
    ends = pd.to_datetime([now // 1000, (midnight + DAY_NS) // 1000], unit="us", utc=True)
    fig.add_scatter(x=ends, y=[total, projected], name="projected (last hour's rate)", line={"dash": "dash"})
    # The budget line is drawn when it is within reach; far above, it would flatten the spend to zero.
    budget_shown = budget is not None and 0 < budget <= 4 * max(projected, 1e-9)
    if budget and budget_shown:
        fig.add_hline(
            y=budget, line={"color": theme.STATUS_COLORS["error"]}, annotation_text=f"budget {theme.usd(budget)}"
        )
    # the legend below the axis and its date line, never over them
    fig.update_layout(height=360, margin={"t": 30, "b": 10}, yaxis_title="spent today", yaxis_tickprefix="$",
                      legend={"orientation": "h", "y": -0.22, "yanchor": "top"})  # fmt: skip
    cols = st.columns(3)
    cols[0].metric("Spent today", theme.usd(total), border=True)
    cols[1].metric("Projected by midnight", theme.usd(projected), border=True)
    share = f"{projected / budget:.1%} projected" if budget else None
    cols[2].metric("Daily budget", theme.usd(budget) if budget else "not set", delta=share, delta_color="off",
                   border=True)  # fmt: skip
    if not budget:
        st.caption("Set a daily budget with a `budget_burn` rule (`daily_budget_usd`) in the rules file.")
    elif not budget_shown:
        st.caption(f"The {theme.usd(budget)} budget is far above today's projected spend, so it is not drawn.")
    st.plotly_chart(fig, key="burn_down")
    table = pd.DataFrame({"Spent today": spent, "Last hour": last_hour.reindex(spent.index).fillna(0.0)})
    table["Projected by midnight"] = table["Spent today"] + table["Last hour"] * left_h
    components.table(
        table.rename_axis("Workflow").reset_index(),
        pinned="Workflow",
        column_config={c: components.USD_COLUMN for c in table.columns},
    )


def live_section() -> None:
    if st.session_state.pop(CHANGED, False):
        # the buttons rerun only this live section: rerun the page, so the banner drops the alert at once
        st.rerun(scope="app")
    open_alerts()
    rules = data.alert_rules()
    burn_down(rules.daily_budget_usd)


def rules_section() -> None:
    rules = data.alert_rules()
    st.subheader("Rules")
    st.caption(f"From `{rules.source}`, evaluated every {rules.interval_s:g} s. Format: docs/ALERTS.md.")
    for rule, error in rules.errors:
        st.error(
            f"Rule **{components.inert(rule)}** could not be evaluated: {components.inert(error)}",
            icon=":material/rule:",
        )
    components.table(rules.rules, pinned="name" if "name" in rules.rules.columns else None)


components.live(live_section)
components.guarded(rules_section)
