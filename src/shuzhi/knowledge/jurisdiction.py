"""Where a text applies, and how much that matters for a deployment in one city.

A city government's staff and citizens need national law and their own place's local regulations;
another province's regulation on the same subject is almost never the answer (Legislation Law
Art. 80-82: local regulations apply only within the administrative area that made them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

PROVINCES = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
]
MUNICIPALITIES = frozenset({"北京", "天津", "上海", "重庆"})
AUTONOMOUS_REGIONS = {
    "内蒙古": "内蒙古自治区",
    "广西": "广西壮族自治区",
    "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
}
# Laws about Hong Kong, Macao and Taiwan (香港特别行政区基本法, 台湾同胞投资保护法) are national
# laws; their own legislation is not in mainland corpora, so their names never make a text local.
NEVER_LOCAL = frozenset({"香港", "澳门", "台湾"})

# Cities and prefectures with their own legislative power (Legislation Law Art. 81), by province;
# a few former names (莱芜市, 襄樊市, 巢湖市) stay because older regulations carry them.
CITIES = {
    "河北": "石家庄市 唐山市 秦皇岛市 邯郸市 邢台市 保定市 张家口市 承德市 沧州市 廊坊市 衡水市",
    "山西": "太原市 大同市 阳泉市 长治市 晋城市 朔州市 晋中市 运城市 忻州市 临汾市 吕梁市",
    "内蒙古": "呼和浩特市 包头市 乌海市 赤峰市 通辽市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市 乌兰察布市"
    " 兴安盟 锡林郭勒盟 阿拉善盟",
    "辽宁": "沈阳市 大连市 鞍山市 抚顺市 本溪市 丹东市 锦州市 营口市 阜新市 辽阳市 盘锦市 铁岭市"
    " 朝阳市 葫芦岛市",
    "吉林": "长春市 吉林市 四平市 辽源市 通化市 白山市 松原市 白城市 延边朝鲜族自治州",
    "黑龙江": "哈尔滨市 齐齐哈尔市 鸡西市 鹤岗市 双鸭山市 大庆市 伊春市 佳木斯市 七台河市 牡丹江市"
    " 黑河市 绥化市 大兴安岭地区",
    "江苏": "南京市 无锡市 徐州市 常州市 苏州市 南通市 连云港市 淮安市 盐城市 扬州市 镇江市 泰州市"
    " 宿迁市",
    "浙江": "杭州市 宁波市 温州市 嘉兴市 湖州市 绍兴市 金华市 衢州市 舟山市 台州市 丽水市",
    "安徽": "合肥市 芜湖市 蚌埠市 淮南市 马鞍山市 淮北市 铜陵市 安庆市 黄山市 滁州市 阜阳市 宿州市"
    " 六安市 亳州市 池州市 宣城市 巢湖市",
    "福建": "福州市 厦门市 莆田市 三明市 泉州市 漳州市 南平市 龙岩市 宁德市",
    "江西": "南昌市 景德镇市 萍乡市 九江市 新余市 鹰潭市 赣州市 吉安市 宜春市 抚州市 上饶市",
    "山东": "济南市 青岛市 淄博市 枣庄市 东营市 烟台市 潍坊市 济宁市 泰安市 威海市 日照市 临沂市"
    " 德州市 聊城市 滨州市 菏泽市 莱芜市",
    "河南": "郑州市 开封市 洛阳市 平顶山市 安阳市 鹤壁市 新乡市 焦作市 濮阳市 许昌市 漯河市"
    " 三门峡市 南阳市 商丘市 信阳市 周口市 驻马店市 济源市",
    "湖北": "武汉市 黄石市 十堰市 宜昌市 襄阳市 襄樊市 鄂州市 荆门市 孝感市 荆州市 黄冈市 咸宁市"
    " 随州市 恩施土家族苗族自治州",
    "湖南": "长沙市 株洲市 湘潭市 衡阳市 邵阳市 岳阳市 常德市 张家界市 益阳市 郴州市 永州市 怀化市"
    " 娄底市 湘西土家族苗族自治州",
    "广东": "广州市 韶关市 深圳市 珠海市 汕头市 佛山市 江门市 湛江市 茂名市 肇庆市 惠州市 梅州市"
    " 汕尾市 河源市 阳江市 清远市 东莞市 中山市 潮州市 揭阳市 云浮市",
    "广西": "南宁市 柳州市 桂林市 梧州市 北海市 防城港市 钦州市 贵港市 玉林市 百色市 贺州市 河池市"
    " 来宾市 崇左市",
    "海南": "海口市 三亚市 三沙市 儋州市",
    "四川": "成都市 自贡市 攀枝花市 泸州市 德阳市 绵阳市 广元市 遂宁市 内江市 乐山市 南充市 眉山市"
    " 宜宾市 广安市 达州市 雅安市 巴中市 资阳市 阿坝藏族羌族自治州 甘孜藏族自治州 凉山彝族自治州",
    "贵州": "贵阳市 六盘水市 遵义市 安顺市 毕节市 铜仁市 黔西南布依族苗族自治州"
    " 黔东南苗族侗族自治州 黔南布依族苗族自治州",
    "云南": "昆明市 曲靖市 玉溪市 保山市 昭通市 丽江市 普洱市 临沧市 楚雄彝族自治州"
    " 红河哈尼族彝族自治州 文山壮族苗族自治州 西双版纳傣族自治州 大理白族自治州"
    " 德宏傣族景颇族自治州 怒江傈僳族自治州 迪庆藏族自治州",
    "西藏": "拉萨市 日喀则市 昌都市 林芝市 山南市 那曲市 阿里地区",
    "陕西": "西安市 铜川市 宝鸡市 咸阳市 渭南市 延安市 汉中市 榆林市 安康市 商洛市",
    "甘肃": "兰州市 嘉峪关市 金昌市 白银市 天水市 武威市 张掖市 平凉市 酒泉市 庆阳市 定西市 陇南市"
    " 临夏回族自治州 甘南藏族自治州",
    "青海": "西宁市 海东市 海北藏族自治州 黄南藏族自治州 海南藏族自治州 果洛藏族自治州"
    " 玉树藏族自治州 海西蒙古族藏族自治州",
    "宁夏": "银川市 石嘴山市 吴忠市 固原市 中卫市",
    "新疆": "乌鲁木齐市 克拉玛依市 吐鲁番市 哈密市 昌吉回族自治州 博尔塔拉蒙古自治州"
    " 巴音郭楞蒙古自治州 阿克苏地区 克孜勒苏柯尔克孜自治州 喀什地区 和田地区 伊犁哈萨克自治州"
    " 塔城地区 阿勒泰地区",
}
CITY_PROVINCE = {city: province for province, names in CITIES.items() for city in names.split()}


def _full_name(province: str) -> str:
    if province in MUNICIPALITIES:
        return f"{province}市"
    return AUTONOMOUS_REGIONS.get(province, f"{province}省")


def _alternation(names: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


PROVINCE_NAMES = {_full_name(p): p for p in PROVINCES if p not in NEVER_LOCAL}
PROVINCE_AT_START = _alternation(PROVINCE_NAMES)
CITY_AT_START = _alternation(CITY_PROVINCE)
LOCAL_FOLDER = re.compile(r"^(.+?)地方法规$")
PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")

# Relative weight of a passage by where it applies (multiplies the text score).
HOME_OR_NATIONAL = 1.0
HOME_PROVINCE = 0.9
SAME_PROVINCE_OTHER_CITY = 0.55
OTHER_PROVINCE = 0.45
ASKED_PLACE = 1.6
NOT_ASKED_LOCAL = 0.5


def province_key(name: str) -> str:
    """``山东省`` → ``山东``; ``内蒙古自治区`` → ``内蒙古``."""
    return PROVINCE_SUFFIX.sub("", name.strip())


def city_key(name: str) -> str:
    """``济南市`` → ``济南``."""
    return re.sub(r"(市|自治州|地区|盟)$", "", name.strip())


def infer(source: str, title: str) -> tuple[str, str]:
    """(province, city) of a text: the folder (``DLC/山东地方法规/…``) first, else its title.

    A bureau importing a few of its own files has no such folder, so a title that starts with a
    province or city (``济南市…条例``, ``山东省…办法``) makes the text local as well. Only the start
    counts: ``国务院关于…上海…`` and ``中华人民共和国…`` stay national.
    """
    folder = _folder_province(source)
    province, city = title_place(title)
    if not folder:
        return province, city
    return folder, city if province == folder else ""


def _folder_province(source: str) -> str:
    province = ""
    for part in PurePath(source).parts:
        folder = LOCAL_FOLDER.match(part)
        if folder:
            province = province_key(folder.group(1))
    return province


def title_place(title: str) -> tuple[str, str]:
    """(province, city) named at the start of a title; ``("", "")`` when it names none."""
    name = re.sub(r"\s", "", title).lstrip("《〈")
    province = PROVINCE_AT_START.match(name)
    if province:
        key = PROVINCE_NAMES[province.group()]
        city = CITY_AT_START.match(name, province.end())
        if city and CITY_PROVINCE[city.group()] == key:
            return key, city.group()
        return key, ""
    city = CITY_AT_START.match(name)
    if city:
        return CITY_PROVINCE[city.group()], city.group()
    return "", ""


@dataclass(frozen=True)
class Home:
    """The deployment's place, from the settings ``place`` and ``province``."""

    province: str
    city: str

    @classmethod
    def of(cls, place: str, province: str) -> Home:
        return cls(province_key(province), city_key(place))


def weight(province: str, city: str, home: Home, asked: frozenset[str]) -> float:
    """How strongly to prefer a text from (``province``, ``city``) for this question."""
    if not province:
        return HOME_OR_NATIONAL
    here = city_key(city) if city else province
    if asked:
        if here in asked or (not city and province in asked):
            return ASKED_PLACE
        return NOT_ASKED_LOCAL
    if province != home.province:
        return OTHER_PROVINCE
    if not city:
        return HOME_PROVINCE
    return HOME_OR_NATIONAL if city_key(city) == home.city else SAME_PROVINCE_OTHER_CITY


def label(province: str, city: str) -> str:
    if not province:
        return "全国"
    return f"{province}{'·' + city if city else ''}"
