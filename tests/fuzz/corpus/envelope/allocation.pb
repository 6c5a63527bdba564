
ê
YP-001
9434765919 (0:s47 enquiryBhub:norwichB
camhs-caraJ$5f1a2b3c-0000-4000-8000-000000000001j$5f1a2b3c-0000-4000-8000-000000000002ä"
hub:norwichsw-42Ä–ïˇº1 Ä®⁄º≤2