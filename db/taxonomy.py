"""The skill and ISCO-08 occupation taxonomy that migrations seed, with English and Khmer names."""

from dataclasses import dataclass

TEXTILE = "TEXTILE"
CONSTRUCTION = "CONSTRUCTION"
AGRICULTURE = "AGRICULTURE"


@dataclass(frozen=True)
class SkillSeed:
    code: str
    name: str
    name_km: str
    sector: str | None


@dataclass(frozen=True)
class OccupationSeed:
    code: str
    name: str
    name_km: str
    sectors: tuple[str, ...]


SKILLS: tuple[SkillSeed, ...] = (
    SkillSeed("agriculture.aquaculture", "Fish farming (aquaculture)", "ការចិញ្ចឹមត្រី (វារីវប្បកម្ម)", AGRICULTURE),
    SkillSeed("agriculture.cassava-harvesting", "Cassava harvesting", "ការប្រមូលផលដំឡូងមី", AGRICULTURE),
    SkillSeed("agriculture.fruit-picking", "Fruit picking", "ការបេះផ្លែឈើ", AGRICULTURE),
    SkillSeed("agriculture.irrigation", "Irrigation", "ការស្រោចស្រព និងការគ្រប់គ្រងទឹក", AGRICULTURE),
    SkillSeed("agriculture.livestock-raising", "Livestock raising", "ការចិញ្ចឹមសត្វ (គោ ក្របី ជ្រូក)", AGRICULTURE),
    SkillSeed(
        "agriculture.pesticide-handling",
        "Safe handling of pesticides",
        "ការប្រើថ្នាំកសិកម្មប្រកបដោយសុវត្ថិភាព",
        AGRICULTURE,
    ),
    SkillSeed("agriculture.poultry-raising", "Poultry raising", "ការចិញ្ចឹមមាន់ទា", AGRICULTURE),
    SkillSeed("agriculture.rice-cultivation", "Rice cultivation", "ការដាំដុះស្រូវ", AGRICULTURE),
    SkillSeed("agriculture.rubber-tapping", "Rubber tapping", "ការចៀរជ័រកៅស៊ូ", AGRICULTURE),
    SkillSeed("agriculture.sugar-cane-cutting", "Sugar cane cutting", "ការកាប់អំពៅ", AGRICULTURE),
    SkillSeed("agriculture.tractor-driving", "Tractor driving", "ការបើកត្រាក់ទ័រ", AGRICULTURE),
    SkillSeed("agriculture.vegetable-growing", "Vegetable growing", "ការដាំបន្លែ", AGRICULTURE),
    SkillSeed("construction.bricklaying", "Bricklaying", "ការរៀបឥដ្ឋ", CONSTRUCTION),
    SkillSeed("construction.concrete-work", "Concrete mixing and pouring", "ការលាយ និងចាក់បេតុង", CONSTRUCTION),
    SkillSeed("construction.electrical-wiring", "Electrical wiring", "ការដំឡើងខ្សែភ្លើងក្នុងអគារ", CONSTRUCTION),
    SkillSeed("construction.formwork", "Formwork carpentry", "ការធ្វើពុម្ពឈើសម្រាប់ចាក់បេតុង", CONSTRUCTION),
    SkillSeed(
        "construction.heavy-equipment",
        "Heavy equipment operation (excavator)",
        "ការបើកគ្រឿងចក្រធុនធ្ងន់ (ម៉ាស៊ីនជីកដី)",
        CONSTRUCTION,
    ),
    SkillSeed("construction.painting", "Building painting", "ការលាបថ្នាំអគារ", CONSTRUCTION),
    SkillSeed("construction.plastering", "Plastering", "ការបូកស៊ីម៉ងត៍ជញ្ជាំង", CONSTRUCTION),
    SkillSeed("construction.plumbing", "Plumbing", "ការដំឡើងបំពង់ទឹក", CONSTRUCTION),
    SkillSeed("construction.scaffolding", "Scaffolding", "ការដំឡើងរន្ទា", CONSTRUCTION),
    SkillSeed("construction.site-safety", "Construction site safety", "សុវត្ថិភាពការដ្ឋានសំណង់", CONSTRUCTION),
    SkillSeed("construction.steel-fixing", "Steel fixing (rebar)", "ការចងដែកសសៃ", CONSTRUCTION),
    SkillSeed("construction.tiling", "Tiling", "ការក្រាលការ៉ូ", CONSTRUCTION),
    SkillSeed("construction.welding", "Welding", "ការផ្សារដែក", CONSTRUCTION),
    SkillSeed("general.first-aid", "First aid", "ការសង្គ្រោះបឋម", None),
    SkillSeed("general.forklift-operation", "Forklift operation", "ការបើករថយន្តលើកទំនិញ (ហ្វ័កលីហ្វ)", None),
    SkillSeed("general.team-supervision", "Team supervision", "ការគ្រប់គ្រងក្រុមការងារ", None),
    SkillSeed("textile.bag-assembly", "Bag and travel goods assembly", "ការផលិតកាបូប និងវ៉ាលី", TEXTILE),
    SkillSeed("textile.buttonhole", "Button-hole machine operation", "ការប្រើម៉ាស៊ីនចោះរន្ធឡេវ", TEXTILE),
    SkillSeed("textile.coverstitch", "Coverstitch machine operation", "ការដេរម៉ាស៊ីនគ្របថ្នេរ", TEXTILE),
    SkillSeed("textile.embroidery-machine", "Embroidery machine operation", "ការប្រើម៉ាស៊ីនប៉ាក់", TEXTILE),
    SkillSeed("textile.fabric-cutting", "Fabric cutting", "ការកាត់ក្រណាត់", TEXTILE),
    SkillSeed("textile.fabric-spreading", "Fabric spreading", "ការក្រាលក្រណាត់", TEXTILE),
    SkillSeed("textile.footwear-lasting", "Footwear lasting", "ការទាញស្បែកជើងលើពុម្ព", TEXTILE),
    SkillSeed("textile.footwear-stitching", "Footwear stitching", "ការដេរស្បែកជើង", TEXTILE),
    SkillSeed("textile.ironing", "Ironing and pressing", "ការអ៊ុតសម្លៀកបំពាក់", TEXTILE),
    SkillSeed("textile.overlock", "Overlock machine operation", "ការដេរម៉ាស៊ីនរុំជាយក្រណាត់ (អូវើឡុក)", TEXTILE),
    SkillSeed("textile.packing-folding", "Packing and folding", "ការបត់ និងវេចខ្ចប់សម្លៀកបំពាក់", TEXTILE),
    SkillSeed("textile.pattern-cutting", "Pattern cutting", "ការកាត់ពុម្ពសម្លៀកបំពាក់", TEXTILE),
    SkillSeed("textile.quality-inspection", "Garment quality control", "ការត្រួតពិនិត្យគុណភាពសម្លៀកបំពាក់", TEXTILE),
    SkillSeed("textile.single-needle-sewing", "Single-needle machine sewing", "ការដេរម៉ាស៊ីនម្ជុលមួយ", TEXTILE),
)

OCCUPATIONS: tuple[OccupationSeed, ...] = (
    OccupationSeed("3122", "Manufacturing supervisors", "អ្នកគ្រប់គ្រងការងារផលិតកម្ម", (TEXTILE,)),
    OccupationSeed("3123", "Construction supervisors", "មេការ និងអ្នកគ្រប់គ្រងការដ្ឋានសំណង់", (CONSTRUCTION,)),
    OccupationSeed("6111", "Field crop and vegetable growers", "កសិករដាំដំណាំស្រែចម្ការ និងបន្លែ", (AGRICULTURE,)),
    OccupationSeed("6112", "Tree and shrub crop growers", "កសិករដាំដំណាំដើមឈើ និងគុម្ពោត", (AGRICULTURE,)),
    OccupationSeed("6121", "Livestock and dairy producers", "អ្នកចិញ្ចឹមសត្វ និងផលិតទឹកដោះគោ", (AGRICULTURE,)),
    OccupationSeed("6122", "Poultry producers", "អ្នកចិញ្ចឹមមាន់ទា", (AGRICULTURE,)),
    OccupationSeed("6221", "Aquaculture workers", "អ្នកចិញ្ចឹមត្រី និងសត្វទឹក", (AGRICULTURE,)),
    OccupationSeed("7112", "Bricklayers and related workers", "ជាងរៀបឥដ្ឋ និងជាងពាក់ព័ន្ធ", (CONSTRUCTION,)),
    OccupationSeed(
        "7114",
        "Concrete placers, concrete finishers and related workers",
        "ជាងចាក់បេតុង និងជាងពាក់ព័ន្ធ",
        (CONSTRUCTION,),
    ),
    OccupationSeed("7115", "Carpenters and joiners", "ជាងឈើ", (CONSTRUCTION,)),
    OccupationSeed(
        "7119",
        "Building frame and related trades workers not elsewhere classified",
        "ជាងសំណង់គ្រោងអគារផ្សេងទៀត (រួមទាំងជាងរន្ទា)",
        (CONSTRUCTION,),
    ),
    OccupationSeed("7122", "Floor layers and tile setters", "ជាងក្រាលការ៉ូ និងកម្រាល", (CONSTRUCTION,)),
    OccupationSeed("7123", "Plasterers", "ជាងបូក", (CONSTRUCTION,)),
    OccupationSeed("7126", "Plumbers and pipe fitters", "ជាងដំឡើងបំពង់ទឹក", (CONSTRUCTION,)),
    OccupationSeed("7131", "Painters and related workers", "ជាងលាបថ្នាំ", (CONSTRUCTION,)),
    OccupationSeed("7212", "Welders and flamecutters", "ជាងផ្សារ និងកាត់ដែក", (CONSTRUCTION,)),
    OccupationSeed("7411", "Building and related electricians", "ជាងភ្លើងអគារ", (CONSTRUCTION,)),
    OccupationSeed("7531", "Tailors, dressmakers, furriers and hatters", "ជាងកាត់ដេរ", (TEXTILE,)),
    OccupationSeed(
        "7532",
        "Garment and related pattern-makers and cutters",
        "ជាងធ្វើពុម្ព និងកាត់ក្រណាត់",
        (TEXTILE,),
    ),
    OccupationSeed(
        "7533",
        "Sewing, embroidery and related workers",
        "កម្មករដេរ ប៉ាក់ និងការងារពាក់ព័ន្ធ",
        (TEXTILE,),
    ),
    OccupationSeed("7536", "Shoemakers and related workers", "ជាងធ្វើស្បែកជើង", (TEXTILE,)),
    OccupationSeed(
        "7543",
        "Product graders and testers (excluding foods and beverages)",
        "អ្នកត្រួតពិនិត្យ និងចាត់ថ្នាក់គុណភាពផលិតផល",
        (TEXTILE,),
    ),
    OccupationSeed("8152", "Weaving and knitting machine operators", "អ្នកបើកម៉ាស៊ីនត្បាញ និងចាក់ក្រណាត់", (TEXTILE,)),
    OccupationSeed("8153", "Sewing machine operators", "កម្មករដេរម៉ាស៊ីន", (TEXTILE,)),
    OccupationSeed("8155", "Fur and leather preparing machine operators", "អ្នកបើកម៉ាស៊ីនកែច្នៃស្បែក", (TEXTILE,)),
    OccupationSeed("8156", "Shoemaking and related machine operators", "អ្នកបើកម៉ាស៊ីនផលិតស្បែកជើង", (TEXTILE,)),
    OccupationSeed(
        "8159",
        "Textile, fur and leather products machine operators not elsewhere classified",
        "អ្នកបើកម៉ាស៊ីនផលិតផលវាយនភណ្ឌ និងស្បែកផ្សេងទៀត",
        (TEXTILE,),
    ),
    OccupationSeed(
        "8341",
        "Mobile farm and forestry plant operators",
        "អ្នកបើកគ្រឿងចក្រកសិកម្ម និងព្រៃឈើ",
        (AGRICULTURE,),
    ),
    OccupationSeed(
        "8342",
        "Earthmoving and related plant operators",
        "អ្នកបើកគ្រឿងចក្រជីកដី និងឈូសឆាយ",
        (CONSTRUCTION,),
    ),
    OccupationSeed(
        "8344", "Lifting truck operators", "អ្នកបើករថយន្តលើកទំនិញ (ហ្វ័កលីហ្វ)", (TEXTILE, CONSTRUCTION, AGRICULTURE)
    ),
    OccupationSeed("9211", "Crop farm labourers", "កម្មករកសិដ្ឋានដំណាំ", (AGRICULTURE,)),
    OccupationSeed("9212", "Livestock farm labourers", "កម្មករកសិដ្ឋានចិញ្ចឹមសត្វ", (AGRICULTURE,)),
    OccupationSeed(
        "9213",
        "Mixed crop and livestock farm labourers",
        "កម្មករកសិដ្ឋានដំណាំ និងចិញ្ចឹមសត្វចម្រុះ",
        (AGRICULTURE,),
    ),
    OccupationSeed("9214", "Garden and horticultural labourers", "កម្មករសួនច្បារ និងសាកវប្បកម្ម", (AGRICULTURE,)),
    OccupationSeed("9216", "Fishery and aquaculture labourers", "កម្មករនេសាទ និងវារីវប្បកម្ម", (AGRICULTURE,)),
    OccupationSeed("9312", "Civil engineering labourers", "កម្មករសំណង់ផ្លូវ ស្ពាន និងទំនប់", (CONSTRUCTION,)),
    OccupationSeed("9313", "Building construction labourers", "កម្មករសំណង់អគារ", (CONSTRUCTION,)),
    OccupationSeed("9321", "Hand packers", "កម្មករវេចខ្ចប់ដោយដៃ", (TEXTILE, AGRICULTURE)),
)
