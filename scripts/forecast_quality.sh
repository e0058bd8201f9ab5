#!/usr/bin/env bash
# The README's forecasting quality table: trains a forecaster on the first 90 % of three real
# series and scores it on the last 10 % beside the naive, seasonal-naive and linear baselines.
# Usage: scripts/forecast_quality.sh [output directory, default build/forecast_quality]
set -euo pipefail
cd "$(dirname "$0")/.."
forecast=build/release/apps/mamba2-forecast
data=$(realpath "${MAMBA2_SHARED_DIR:-../shared}")/data/timeseries
out=${1:-build/forecast_quality}
mkdir -p "$out"
# series, context, horizon, seasons for MASE
for spec in "sunspot_month 96 12 12" "co2_monthly 48 12 12" "eu_stock_markets 64 5 1,5"; do
  read -r name context horizon seasons <<<"$spec"
  start=$(date +%s)
  "$forecast" train --csv "$data/$name.csv" --context "$context" --horizon "$horizon" \
    --out "$out/$name.gguf" --d-model 64 --layers 2 --steps 400 --batch 32 --eval-every 100 \
    --seed 1 -t 2 2>/dev/null
  echo "$name: trained in $(($(date +%s) - start)) s"
  for season in ${seasons//,/ }; do
    "$forecast" eval "$out/$name.gguf" --csv "$data/$name.csv" --season "$season" -t 2
  done
done
