#!/usr/bin/env python3
"""Writes a synthetic town registry of N premises as the governance platform exports it:
GBK (GB18030) with the platform's Chinese headers, CRLF line ends, some quoted fields.

    make_registry.py OUT.csv [--rows 120000] [--encoding gb18030|utf-8-sig]
"""
import argparse
import random

COMMUNITIES = ["白沙社区", "黄岐社区", "凤池社区", "盐步社区", "大沥社区", "沥东社区", "沥西社区", "太平社区"]
KINDS = ["经营单位", "出租屋", "市场档口", "其他"]
ROADS = ["海北路", "广佛路", "建设大道", "沿江路", "凤池路", "岭南路", "钟边路", "黄岐二路"]
TRADES = ["五金", "灯饰", "电器", "布匹", "建材", "日杂", "水暖", "电线电缆", "家具", "五金机电"]
SURNAMES = "陈李黄梁何林张王吴刘邓周谢冯罗"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=120000)
    ap.add_argument("--encoding", default="gb18030")
    args = ap.parse_args()
    rnd = random.Random(7)
    lines = ["平台编号,二维码,名称,类型,地址,社区,网格,市场,负责人,电话,状态"]
    for i in range(args.rows):
        community = COMMUNITIES[i % len(COMMUNITIES)]
        road = ROADS[rnd.randrange(len(ROADS))]
        trade = TRADES[rnd.randrange(len(TRADES))]
        name = f"{SURNAMES[rnd.randrange(len(SURNAMES))]}记{trade}{i}"
        if i % 50 == 0:
            name = f"\"{name}, 批发部\""
        kind = KINDS[rnd.randrange(len(KINDS))]
        market = f"dali-market-{i % 40:02d}" if kind == "市场档口" else ""
        status = "注销" if i % 97 == 0 else "正常"
        lines.append(",".join([f"NH{i:08d}", f"QR{i * 7919 % 10**9:09d}", name, kind,
                               f"佛山市南海区大沥镇{road}{rnd.randrange(1, 999)}号{i % 300}档", community,
                               f"第{i % 24 + 1}网格", market, f"{SURNAMES[i % len(SURNAMES)]}先生",
                               f"138{i:08d}", status]))
    with open(args.out, "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n").encode(args.encoding))


if __name__ == "__main__":
    main()
