"""Tests of the adapters to outside tools (src/fastconda/tools)."""
