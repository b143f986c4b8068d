#!/usr/bin/env bash
# Start a village station node with the sample catalog, and show what it is doing.
# Usage: bash install/run-station.sh [--serve] [NODE_HOME]     (default: ./station-home)
#   --serve   then open the station's web page (127.0.0.1:8470) with two sample accounts, until Ctrl+C
set -euo pipefail
source "$(dirname "$0")/env.sh"
ensure_system_packages
ensure_venv ""
cd "$EDGENODE_ROOT"

SERVE=""
if [ "${1:-}" = "--serve" ]; then SERVE=1; shift; fi
NODE_HOME="${1:-$EDGENODE_ROOT/station-home}"
DIVISION="350123102206"          # 罗源县起步镇上长治村 (see docs/sample-catalog.md)
NAME="罗源县起步镇上长治村便民服务站"
export EDGENODE_HOME="$NODE_HOME" EDGENODE_STAFF="${EDGENODE_STAFF:-代办员}"

step() { printf '\n== %s\n' "$*"; }

COUNTY_HOME="${NODE_HOME}-county"   # a sample county node that enrols the station and issues its seal
# Sample secrets for this tour only. A real custodian types the PIN at a prompt.
export EDGENODE_CA_PASSPHRASE="${EDGENODE_CA_PASSPHRASE:-sample-county-passphrase}"
DEMO_PIN="${EDGENODE_SEAL_PIN:-246810}"

if [ ! -f "$NODE_HOME/config.json" ]; then
  step "创建节点 $NAME（$DIVISION）于 $NODE_HOME"
  edgenode init --role station --division "$DIVISION" --name "$NAME" --phone "0591-26801234"
  step "示例县级节点（$COUNTY_HOME）：创建县级CA，为本站签发节点证书和村委会电子印章（全程以文件交接，如U盘）"
  edgenode --home "$COUNTY_HOME" init --role county --division 350123 --name 罗源县政务服务中心
  edgenode --home "$COUNTY_HOME" ca init --county-name 罗源县
  EDGENODE_SEAL_PIN="$DEMO_PIN" edgenode enrol request --out "$NODE_HOME/enrol-request.json"
  edgenode --home "$COUNTY_HOME" ca enrol "$NODE_HOME/enrol-request.json" --out "$NODE_HOME/enrol-bundle.json"
  FP=$(edgenode --home "$COUNTY_HOME" ca show --json | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
  edgenode enrol accept "$NODE_HOME/enrol-bundle.json" --ca-fingerprint "$FP"
else
  step "使用已有节点 $NODE_HOME"
fi

step "印章管理员解锁印章至今天 23:59（示例 PIN；实际由管理员在提示下输入）"
EDGENODE_SEAL_PIN="$DEMO_PIN" edgenode --staff 印章管理员 seal unlock --until 23:59

step "县级签名发布事项目录（样例，罗源县第1版），站点导入签名发布包（U盘或同步）"
RELEASE="$NODE_HOME/sample-catalog-v1.enrel"
[ -f "$RELEASE" ] || edgenode --home "$COUNTY_HOME" catalog publish edgenode/data/sample_catalog.json --out "$RELEASE"
edgenode catalog import "$RELEASE"

step "本站可受理的事项"
edgenode catalog list

step "搜索“证明”"
edgenode catalog search 证明

step "收件示例：一位村民申请城乡居民基本养老保险参保登记（身份证用电子证照，缺参保登记表）"
SAMPLE_DIR="$NODE_HOME/sample-intake"
mkdir -p "$SAMPLE_DIR"
"$VENV/bin/python" - "$SAMPLE_DIR" <<'PY'
import json, sys
from pathlib import Path
from forms import id_card_check_char
out = Path(sys.argv[1])
first17 = "35012319560315123"
form = {"applicant_name": "林秀英", "id_number": first17 + id_card_check_char(first17), "phone": "13805912345",
        "address": "福建省罗源县起步镇上长治村12号", "village_code": "350123102206", "is_agent": False,
        "birth_date": "1956-03-15", "contribution_grade": "200", "bank_name": "福建罗源农村商业银行",
        "bank_account": "6217001234567890123"}
(out / "form.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
(out / "登记表.pdf").write_bytes(b"%PDF-1.4\n% sample scan\n%%EOF\n")
PY
ITEM=11350123003650113W4002004011000
edgenode case receive --item "$ITEM" --form "$SAMPLE_DIR/form.json" --elicence sfz
step "申请人补交参保登记表（补正），当场受理"
LAST=$(edgenode case list --status incomplete --limit 1 --json | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["cases"][0]["case_no"])')
edgenode case correct "$LAST" --material "cbdjb=$SAMPLE_DIR/登记表.pdf"

step "离线验证刚出具的盖章受理通知书"
NOTICE=$(ls -t "$NODE_HOME"/notices/*acceptance*.pdf | head -1)
edgenode seal verify "$NOTICE"

step "工作日历：今天起第20个工作日"
edgenode calendar --days 20

step "审计日志校验"
edgenode audit verify

cat <<TXT

节点已就绪：$NODE_HOME（示例县级节点：$COUNTY_HOME）
  盖章文书：$NODE_HOME/notices/
  办件：    EDGENODE_HOME=$NODE_HOME .venv/bin/edgenode case list
  网页界面：bash install/run-station.sh --serve   （或 .venv/bin/edgenode --home $NODE_HOME serve）
  帮助：    .venv/bin/edgenode --help
TXT

if [ -n "$SERVE" ]; then
  # Sample accounts for trying the page on this machine only; real staff choose their own passwords.
  SAMPLE_PASSWORD="${EDGENODE_SAMPLE_PASSWORD:-Station-2026-sample}"
  for account in "lin 林晓燕 clerk" "admin 张管理 admin"; do
    set -- $account
    if ! edgenode staff list --json | "$VENV/bin/python" -c 'import json,sys; sys.exit(0 if any(s["login"] == sys.argv[1] for s in json.load(sys.stdin)["staff"]) else 1)' "$1"; then
      printf '%s\n' "$SAMPLE_PASSWORD" | edgenode --staff 管理员 staff add "$1" --name "$2" --role "$3" --password-stdin
    fi
  done
  step "打开网页界面：浏览器访问下面显示的地址，以 lin（代办员）或 admin（管理员）登录，示例密码 $SAMPLE_PASSWORD"
  # the sample county is not running: no upstream to sync with. EDGENODE_SERVE_PORT=0 picks a free port.
  exec edgenode serve --no-sync ${EDGENODE_SERVE_PORT:+--port "$EDGENODE_SERVE_PORT"}
fi
