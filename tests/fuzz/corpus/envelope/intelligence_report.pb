
ê
YP-001
9434765919 (0:s47 enquiryBhub:norwichB
camhs-caraJ$5f1a2b3c-0000-4000-8000-000000000001j$5f1a2b3c-0000-4000-8000-000000000002Rö
"named recipients only
A"seen near the station*0
SRC-9lives nearby
J
	1 High St"NR1 1AA2
A2
B	Norwich:	Norwich@ò»ïˇº1