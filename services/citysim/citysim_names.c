/*
 * citysim_names - Chinese names for the demo city's people and places.
 *
 * A duty console full of "enterprise 17" teaches nobody anything, so the
 * city has names that read like Jinan's: people with common surnames,
 * companies named the way the registry names them (济南 + 字号 + trade +
 * company form), addresses on the city's main roads.  Everything is drawn
 * from the caller's random stream into the caller's buffer; the tables are
 * small and built in, as they are part of what makes the city.
 */
#include <stdio.h>
#include <string.h>

#include "citysim.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵",
    "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡",
    "贾", "丁", "魏", "薛", "叶", "孔", "孟", "田", "房", "侯", "牛"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强",
    "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "英", "华", "建", "国", "文", "辉", "玲", "鹏", "宇", "浩",
    "凯", "晨", "欣", "颖", "婷", "雪", "峰", "斌", "志", "鑫", "博", "亮",
    "林", "红", "海", "东", "振", "庆", "立", "新", "春", "泉", "冬"};
static const char *const phone_prefixes[] = {"130", "131", "132", "133", "135",
    "136", "137", "138", "139", "150", "151", "152", "155", "156", "157", "158",
    "159", "166", "176", "177", "178", "180", "181", "182", "185", "186", "187",
    "188", "189", "191", "198", "199"};
/* Characters companies pick for their 字号. */
static const char *const trade_chars[] = {"华", "鑫", "泰", "恒", "瑞", "丰",
    "源", "宏", "昌", "盛", "隆", "通", "达", "利", "信", "诚", "德", "安",
    "康", "永", "祥", "福", "嘉", "润", "正", "鲁", "齐", "金", "海", "天",
    "宇", "新", "远", "光", "明", "中", "汇", "博", "联", "兴", "凯", "荣",
    "鼎", "晟", "弘", "舜", "济", "岱", "腾", "佳", "合", "顺", "力", "创"};
static const char *const company_forms[] = {"有限公司", "有限公司", "有限公司",
    "有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司",
    "集团有限公司"};
static const char *const roads[] = {"经十路", "经十东路", "经十西路",
    "工业北路", "工业南路", "二环东路", "二环西路", "历山路", "解放路",
    "花园路", "北园大街", "旅游路", "世纪大道", "凤鸣路", "泉城路", "舜华路",
    "新泺大街", "奥体中路", "济泺路", "纬二路", "经七路", "大明湖路",
    "花园东路", "春暄路", "汇源大街", "明水大街", "黄河大道", "鲁碧路",
    "汶源大街", "平安路"};
static const char *const provinces[] = {
    "北京", "天津", "河北", "江苏", "河南", "上海", "安徽"};

/* The trades of a sector, as they appear in company names. */
static const struct {
	const char *sector;
	const char *trades[6];
} sector_trades[] = {
    {"hazchem", {"化工", "石化", "精细化工", "化学", "工业气体", "新材料"}},
    {"gas", {"燃气", "天然气", "能源", "液化气", "燃气", "清洁能源"}},
    {"coal", {"煤业", "矿业", "煤矿", "能源", "煤业", "矿业"}},
    {"noncoal_mine", {"矿业", "石料", "建材", "矿业", "石材", "砂石"}},
    {"metallurgy", {"钢铁", "冶金", "铸造", "特钢", "铝业", "金属制品"}},
    {"road_traffic",
        {"客运", "汽车运输", "公交", "出租汽车", "驾驶培训", "客运"}},
    {"transport", {"物流", "运输", "货运", "供应链", "航运", "物流"}},
    {"construction", {"建设", "建筑工程", "建工", "路桥", "市政工程", "建设"}},
    {"special_equipment",
        {"锅炉", "电梯", "起重机械", "压力容器", "电梯工程", "游乐设备"}},
    {"fire", {"商贸", "百货", "酒店管理", "仓储", "影城", "商业管理"}},
};
static const char *const other_trades[] = {"机械", "食品", "纺织", "电子",
    "商贸", "印刷", "木业", "塑料制品", "医药", "家具", "包装", "五金"};

void
sim_names_person(struct sim_rng *r, char *buf, size_t size)
{
	const char *s = surnames[sim_rng_below(r, N(surnames))];
	const char *g1 = given[sim_rng_below(r, N(given))];

	if (sim_rng_chance(r, 0.6))
		snprintf(buf, size, "%s%s%s", s, g1,
		    given[sim_rng_below(r, N(given))]);
	else
		snprintf(buf, size, "%s%s", s, g1);
}

void
sim_names_phone(struct sim_rng *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s%04u%04u",
	    phone_prefixes[sim_rng_below(r, N(phone_prefixes))],
	    sim_rng_below(r, 10000), sim_rng_below(r, 10000));
}

static void
trade_name(struct sim_rng *r, char *buf, size_t size)
{
	size_t a = sim_rng_below(r, N(trade_chars));
	size_t b = sim_rng_below(r, N(trade_chars) - 1);

	if (b >= a)
		b++; /* no doubled character */
	snprintf(buf, size, "%s%s", trade_chars[a], trade_chars[b]);
}

void
sim_names_enterprise(
    struct sim_rng *r, const char *sector, char *buf, size_t size)
{
	const char *trade = NULL;
	char zihao[16];

	trade_name(r, zihao, sizeof(zihao));
	for (size_t i = 0; i < N(sector_trades); i++)
		if (strcmp(sector, sector_trades[i].sector) == 0)
			trade = sector_trades[i].trades[sim_rng_below(r, 6)];
	if (trade == NULL)
		trade = other_trades[sim_rng_below(r, N(other_trades))];
	snprintf(buf, size, "济南%s%s%s", zihao, trade,
	    company_forms[sim_rng_below(r, N(company_forms))]);
}

void
sim_names_address(
    struct sim_rng *r, const char *district_name, char *buf, size_t size)
{
	const char *road = roads[sim_rng_below(r, N(roads))];

	snprintf(buf, size, "济南市%s%s%u号", district_name, road,
	    1 + sim_rng_below(r, 3000));
}

void
sim_names_agency(struct sim_rng *r, bool testing, bool out_of_province,
    char *buf, size_t size)
{
	char zihao[16];

	trade_name(r, zihao, sizeof(zihao));
	snprintf(buf, size, "%s%s%s",
	    out_of_province ? provinces[sim_rng_below(r, N(provinces))]
	                    : "山东",
	    zihao,
	    testing ? (sim_rng_chance(r, 0.5) ? "检测技术有限公司"
	                                      : "检验检测有限公司")
	            : (sim_rng_chance(r, 0.5) ? "安全技术咨询有限公司"
	                                      : "安全评价有限公司"));
}
