#!/usr/bin/env node
// Committed (and executable) launcher: npm links bins before `prepare` has built dist/, so the
// bin cannot point at a generated file whose mode npm never fixed.
import "../dist/main.js";
