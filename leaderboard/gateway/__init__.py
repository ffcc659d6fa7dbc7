"""The OpenAI-compatible image API: /openai/v1/images/generations, /images/edits, /models.

A request names one of our models; the gateway normalizes its parameters for each
offering of that model (params), orders the offerings by live stats and fails over
(routing), runs the benchmark runner's adapters on a background event loop (upstream),
converts and stores the images (images), and records every upstream attempt as a
BenchSample with source "gateway" and every call as an ApiRequest of its key (auth).
"""
