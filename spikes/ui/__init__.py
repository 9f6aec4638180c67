"""The dashboard's figures, tables and tuning view (the only place that imports streamlit
and plotly, besides ``app.py``)."""
