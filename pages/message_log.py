"""Message log (analysts, supervisors, admins): every message of the project, filtered,
counted, charted, paged, and downloaded as CSV, Excel or Parquet."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from pages._log_consent import consent_download
from pages._shared import acting_user, notice, read, viewer
from smschat.config import get_settings
from smschat.errors import SmsChatError
from smschat.log import exports, messagelog
from smschat.log.messagelog import (
    COLUMNS,
    DIRECTION_LABELS,
    PAGE_SIZES,
    STATUSES,
    WORKFLOW_LABELS,
    LogFilter,
)

me = viewer("message_log")
st.title("Message log")
notice("caption", f"Times are local to the project ({me.time_zone}), as YYYY-MM-DD HH:MM:SS.")

today = datetime.now(UTC).astimezone(ZoneInfo(me.time_zone)).date()

# Deep links (the Contacts page's figures): ?day=today, ?direction=in|out, ?status=a,b set the
# filters once, then the address is cleared so the widgets rule again.
links = st.query_params.to_dict()
if links.keys() & {"day", "direction", "status"}:
    if links.get("day") == "today":
        st.session_state["log_dates"] = (today, today)
    if links.get("direction") in DIRECTION_LABELS:
        st.session_state["log_direction"] = DIRECTION_LABELS[links["direction"]]
    wanted = [x for x in links.get("status", "").split(",") if x in STATUSES]
    if wanted:
        st.session_state["log_statuses"] = wanted
    st.query_params.clear()

# --- filters --------------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns([3, 2, 3, 3])
if "log_dates" not in st.session_state:
    st.session_state["log_dates"] = (today - timedelta(days=29), today)
picked = c1.date_input("Date range", key="log_dates", help="Local days in the project's time zone, both included.")
direction_label = c2.selectbox("Direction", ["All", *DIRECTION_LABELS.values()], key="log_direction")
type_labels = c3.multiselect("Type", list(WORKFLOW_LABELS.values()), key="log_types", placeholder="All types")
statuses = c4.multiselect("Status", list(STATUSES), key="log_statuses", placeholder="All statuses")
c5, c6, c7, c8 = st.columns([3, 2, 3, 3])
text = c5.text_input("Search messages", key="log_text", placeholder="Text in the message")
contact_search = c6.text_input("Find a contact", key="log_contact_search", placeholder="Name or number")

# A role that cannot view the log stops here, with the reason.
contact_options = [(None, "All contacts"), *read(messagelog.contact_choices, me.project_id, contact_search)]
user_options = [(None, "All web users"), *read(messagelog.user_choices, me.project_id)]
contact = c7.selectbox("Contact", contact_options, format_func=lambda o: o[1], key="log_contact")
web_user = c8.selectbox("Web user (sent by)", user_options, format_func=lambda o: o[1], key="log_user")

dates = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,)
since = dates[0] if dates else None
until = (dates[1] if len(dates) > 1 else dates[0]) + timedelta(days=1) if dates else None
labels_to_workflow = {v: k for k, v in WORKFLOW_LABELS.items()}
labels_to_direction = {v: k for k, v in DIRECTION_LABELS.items()}

try:
    filt = LogFilter(
        since=since, until=until, direction=labels_to_direction.get(direction_label),
        workflows=tuple(labels_to_workflow[t] for t in type_labels), statuses=tuple(statuses),
        contact_id=contact[0] if contact else None, user_id=web_user[0] if web_user else None, text=text,
    )
except SmsChatError as exc:
    notice("error", str(exc))
    st.stop()

# --- count and charts -------------------------------------------------------------------------


@st.cache_data(ttl=60, show_spinner="Computing the charts…", max_entries=200)
def _charts(user_id: int, project_id: int, filt: LogFilter) -> messagelog.LogCharts:
    # Aggregates over possibly millions of rows: one minute old is fresh enough for a chart.
    # Keyed by user too, so the role check inside ran for this very user.
    return read(messagelog.charts, project_id, filt)


total = read(messagelog.count, me.project_id, filt)
chart_data = _charts(me.user_id, me.project_id, filt)
notice("subheader", f"{total:,} message matches the filter" if total == 1 else f"{total:,} messages match the filter")



def _utc_day(d):
    return alt.DateTime(year=d.year, month=d.month, date=d.day, utc=True)


# The days are local dates already: read and drawn as UTC, so no browser shifts them; the
# axis spans the whole filtered range, so one busy day is one bar, not the whole width.
DAY = alt.X("utcyearmonthdate(day):T", title="Day", axis=alt.Axis(format="%b %d"),
            scale=alt.Scale(domain=[_utc_day(filt.since), _utc_day(filt.until)]) if filt.since and filt.until
            else alt.Undefined)
COUNT_AXIS = alt.Axis(tickMinStep=1, format="d")


def _chart(frame: pd.DataFrame, chart: alt.Chart) -> None:
    if frame.empty:
        st.text("No messages for this filter.")
    else:
        st.altair_chart(chart, width="stretch")


per_day, by_type, delivery, response = st.tabs(
    ["Messages per day", "By type", "Delivery rate", "Time to first reply"])
with per_day:
    frame = pd.DataFrame(chart_data.per_day_direction, columns=["day", "Direction", "Messages"])
    _chart(frame, alt.Chart(frame).mark_bar().encode(
        DAY, alt.Y("Messages:Q", stack=True, axis=COUNT_AXIS), alt.Color("Direction:N"),
        tooltip=["day", "Direction", "Messages"]).properties(height=280))
with by_type:
    frame = pd.DataFrame(chart_data.per_day_type, columns=["day", "Type", "Messages"])
    _chart(frame, alt.Chart(frame).mark_bar().encode(
        DAY, alt.Y("Messages:Q", stack=True, axis=COUNT_AXIS), alt.Color("Type:N"),
        tooltip=["day", "Type", "Messages"]).properties(height=280))
with delivery:
    frame = pd.DataFrame(chart_data.delivery, columns=["day", "Delivered", "Outgoing", "Delivery rate"])
    st.caption("Delivered ÷ outgoing messages with an outcome (sent, delivered, undelivered, failed, unknown, expired: too late, not sent).")
    _chart(frame, alt.Chart(frame).mark_line(point=True).encode(
        DAY, alt.Y("Delivery rate:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        tooltip=["day", "Delivered", "Outgoing", alt.Tooltip("Delivery rate:Q", format=".1%")]
    ).properties(height=280))
with response:
    st.caption("From a contact's first message to the first reply by a web user, in minutes "
               "(uses the date range, contact and web user filters).")
    frame = pd.DataFrame(chart_data.response_by_day, columns=["day", "Replies", "Median", "90th percentile"])
    long = frame.melt(id_vars=["day", "Replies"], var_name="Measure", value_name="seconds")
    long["Minutes"] = long["seconds"] / 60
    _chart(long, alt.Chart(long).mark_line(point=True).encode(
        DAY, alt.Y("Minutes:Q"), alt.Color("Measure:N"),
        tooltip=["day", "Measure", alt.Tooltip("Minutes:Q", format=".1f"), "Replies"]).properties(height=240))
    users = pd.DataFrame(chart_data.response_by_user, columns=["Web user", "Replies", "Median", "90th percentile"])
    long = users.melt(id_vars=["Web user", "Replies"], var_name="Measure", value_name="seconds")
    long["Minutes"] = long["seconds"] / 60
    _chart(long, alt.Chart(long).mark_bar().encode(
        alt.Y("Web user:N"), alt.X("Minutes:Q"), alt.Color("Measure:N"), alt.YOffset("Measure:N"),
        tooltip=["Web user", "Measure", alt.Tooltip("Minutes:Q", format=".1f"), "Replies"]))

# --- the table ----------------------------------------------------------------------------------
s1, s2, s3 = st.columns([3, 2, 2])
sort = s1.selectbox("Sort by", list(COLUMNS), key="log_sort")
order = s2.selectbox("Order", ["Descending", "Ascending"], key="log_order",
                     help="Descending shows the newest first when sorting by Timestamp.")
page_size = s3.selectbox("Show N messages per page", list(PAGE_SIZES), index=1, key="log_page_size")

# A new filter or sort starts again from the first page.
filter_key = (filt, sort, order, page_size)
if st.session_state.get("log_filter") != filter_key:
    st.session_state["log_filter"] = filter_key
    st.session_state["log_page"] = 1

result = read(messagelog.page, me.project_id, filt, sort=sort, descending=order == "Descending",
              page_size=page_size, page_number=st.session_state["log_page"])
# Plain text cells: message bodies and names are data, never HTML or Markdown.
st.dataframe(pd.DataFrame(result.rows, columns=list(COLUMNS)), hide_index=True, width="stretch",
             column_config={"Message": st.column_config.TextColumn("Message", width="medium")})
pages = max(1, -(-result.total // page_size))
number = min(st.session_state["log_page"], pages)
prev_col, info_col, next_col = st.columns([1, 4, 1])
info_col.text(f"Showing {result.first:,} to {result.last:,} of {result.total:,} messages")
if prev_col.button("< Previous", disabled=number <= 1, key="log_prev"):
    st.session_state["log_page"] = number - 1
    st.rerun()
if next_col.button("Next >", disabled=number >= pages, key="log_next"):
    st.session_state["log_page"] = number + 1
    st.rerun()

# --- downloads ----------------------------------------------------------------------------------
st.subheader("Download")
st.caption("Exactly the filtered messages, all pages, oldest first. In CSV and Excel, text that "
           "starts with =, +, - or @ (also after spaces) gets a leading apostrophe so a spreadsheet never runs it.")
exports_dir = Path(get_settings().exports_dir)


def _clean_old_files(folder: Path, max_age_s: int = 3600) -> None:
    """Prepared files are for one download; an hour later they go."""
    if folder.is_dir():
        for old in folder.glob("messages-*"):
            if time.time() - old.stat().st_mtime > max_age_s:
                old.unlink(missing_ok=True)


buttons = st.columns(3)
for column, fmt in zip(buttons, exports.FORMATS, strict=True):
    if column.button(f"Prepare {exports.FORMATS[fmt]}", key=f"log_prepare_{fmt}"):
        _clean_old_files(exports_dir)
        target = exports_dir / f"messages-{uuid.uuid4().hex}.{fmt}"
        bar = st.progress(0.0, text=f"Preparing {exports.FORMATS[fmt]}…")

        def show(done: int, count: int, bar=bar, label=exports.FORMATS[fmt]) -> None:
            bar.progress(min(1.0, done / count) if count else 1.0, text=f"Preparing {label}: {done:,} of {count:,} rows")

        # Two transactions of its own (a long read, then the audit row): not a read() or act().
        try:
            done = exports.export_messages(acting_user(), me.project_id, filt, fmt, target, progress=show,
                                           username=me.username)
        except SmsChatError as exc:
            notice("error", str(exc))
        else:
            bar.progress(1.0, text=f"{exports.FORMATS[fmt]} ready: {done.rows:,} rows")
            st.session_state["log_download"] = {"path": str(target), "format": fmt, "rows": done.rows,
                                                "filter": filt}

ready = st.session_state.get("log_download")
if ready and ready["filter"] == filt and Path(ready["path"]).exists():
    fmt = ready["format"]
    first_day = filt.since.isoformat() if filt.since else "start"
    last_day = (filt.until - timedelta(days=1)).isoformat() if filt.until else "now"
    st.download_button(
        f"Download {exports.FORMATS[fmt]} ({ready['rows']:,} {'row' if ready['rows'] == 1 else 'rows'})",
        data=lambda path=ready["path"]: Path(path).read_bytes(),  # read on click, not on every rerun
        file_name=f"message-log-{first_day}-to-{last_day}.{fmt}",
        mime=exports.MEDIA_TYPES[fmt],
        key="log_download_button",
        on_click="ignore",
        type="primary",
    )

consent_download(me.project_id, me.username)
