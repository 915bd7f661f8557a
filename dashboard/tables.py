"""Tables as people read them: "-" for a missing value, 4 significant digits, thousands
separated, and percentages with their sign."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st


def number_format(column: str, values: pd.Series) -> str:
    if "Δ%" in column:
        return "{:+.1f}%"
    big = values.abs().max(skipna=True)
    return "{:,.0f}" if pd.notna(big) and big >= 1000 else "{:.4g}"


def tidy(df: pd.DataFrame):
    """A Styler showing the frame's floats formatted and every missing value as "-"."""
    df = df.copy()
    for c in df.columns:  # numbers among Nones arrive as objects
        if df[c].dtype == object and df[c].map(lambda v: v is None or isinstance(v, float)).all():
            df[c] = pd.to_numeric(df[c])
    formats = {c: number_format(str(c), df[c]) for c in df.columns
               if pd.api.types.is_float_dtype(df[c])}  # fmt: skip
    for c, fmt in list(formats.items()):
        if df[c].isna().any():  # the grid draws a missing number as "None", whatever the Styler
            df[c] = df[c].map(lambda v, f=fmt: "-" if pd.isna(v) else f.format(v))
            del formats[c]
    return df.style.format(na_rep="-").format(formats, na_rep="-")


def show(df: pd.DataFrame, **kwargs: Any) -> None:
    """st.dataframe of the frame, tidied; no index."""
    st.dataframe(tidy(df), hide_index=True, **kwargs)
