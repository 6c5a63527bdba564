
ê
YP-001
9434765919 (0:s47 enquiryBhub:norwichB
camhs-caraJ$5f1a2b3c-0000-4000-8000-000000000001j$5f1a2b3c-0000-4000-8000-000000000002jWÄ–ïˇº1police called"
F*
G2

2 Low RdBNC-42Jschool:north-highPXbchild alone