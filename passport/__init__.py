"""The outward face: verification API, passport pages, access levels, labels and reports."""
