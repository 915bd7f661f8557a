"""Tables as people read them: "-" for a missing value, 4 significant digits, thousands
separated, and percentages with their sign."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st


def tidy(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame with empty text cells as "-", and a column_config for its numbers."""
    out = df.copy()
    config: dict[str, Any] = {}
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_integer_dtype(col):
            continue
        if pd.api.types.is_float_dtype(col):
            if "Δ%" in str(c):
                fmt = "%+.1f%%"
            else:
                big = col.abs().max(skipna=True)
                fmt = "localized" if pd.notna(big) and big >= 1000 else "%.4g"
            config[c] = st.column_config.NumberColumn(format=fmt)
        elif col.dtype == object:
            out[c] = col.where(col.notna(), "-")
    return out, config


def show(df: pd.DataFrame, **kwargs: Any) -> None:
    """st.dataframe of the tidied frame; kwargs' column_config entries take precedence."""
    tidied, config = tidy(df)
    config.update(kwargs.pop("column_config", {}) or {})
    st.dataframe(tidied, column_config=config, hide_index=True, **kwargs)
