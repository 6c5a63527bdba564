
ê
YP-001
9434765919 (0:s47 enquiryBhub:norwichB
camhs-caraJ$5f1a2b3c-0000-4000-8000-000000000001j$5f1a2b3c-0000-4000-8000-000000000002≤n
CAMHS formulation of 3 Marchpolice
police:plt"&would end the therapeutic relationship(0Ä–ïˇº18Ä®⁄º≤2