"""The spec layer: what a benchmark is, before anything runs or is stored.

Pure pydantic: no torch, no SQL. `choices` holds the values and bounds a spec may take,
`schema` the BenchSpec model, `rules` its cross-field rules, `parse` reading specs from
files, flags and payloads, `presets` named starting points, `limits` a deployment's caps
and `memory` the memory estimate they check, `docs` the generated field reference.
"""
