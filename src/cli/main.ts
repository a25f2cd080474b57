#!/usr/bin/env node
process.stdout.write("weft: not built yet\n");
